"""SIP trunks: providers reached through the Kamailio edge, inbound numbers (DIDs), trunk groups."""
