"""The SIP edge: Kamailio's config, process, JSON-RPC control and worker dispatch."""
