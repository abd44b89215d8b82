"""A fake SIP provider on loopback: a second Kamailio with one customer account.

- REGISTER: digest auth (realm `realm`) for `user`/`password`; a wrong password is
  challenged again, another user gets 403. The registration is kept in memory.
- INVITE from the customer (the appliance's SIP port): proxy digest auth, then the
  call is noted (`last_invite()`) and either forwarded to `forward_to(uri)` (a test
  phone: calls with audio) or answered with `answer_with(code)` (486 by default).
- INVITE from anyone else (the "PSTN"): sent to the customer's registered Contact,
  the called number kept in To, as providers do.
- `tls=True`: a TLS listener too (`host` then names it), with a self-signed test
  certificate for the realm; INVITEs from the customer may come over TLS (from any
  port), and `seen("register_proto")` / `seen("invite_proto")` say how they came.

State is read and steered over the provider's own JSON-RPC (htables `seen`, `ctl`).
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.support.ports import free_port_block

CONFIG = r"""#!KAMAILIO
debug=2
log_stderror=yes
log_prefix="{provider $mt $ci} "
children=2
tcp_children=1
listen=udp:127.0.0.1:%(port)d
listen=tcp:127.0.0.1:%(port)d
listen=tcp:127.0.0.1:%(rpc_port)d
%(tls_listen)s
auto_aliases=no
alias="%(realm)s"
tcp_accept_no_cl=yes

%(tls_modules)s
loadmodule "jsonrpcs.so"
loadmodule "xhttp.so"
loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "auth.so"
loadmodule "htable.so"

modparam("jsonrpcs", "transport", 1)
modparam("usrloc", "db_mode", 0)
modparam("htable", "htable", "seen=>size=4;")
modparam("htable", "htable", "ctl=>size=4;")

request_route {
	if ($Rp == %(rpc_port)d) exit;
	force_rport();
	# refuse_from(port): requests from that source port get 403, as from an address not allowed.
	if ($sht(ctl=>refuse_port) != $null && $sp == $sht(ctl=>refuse_port)) {
		sl_send_reply("403", "Address Not Allowed");
		exit;
	}
	if (is_method("OPTIONS") && $rU == $null) {
		$var(counter) = "options"; route(COUNT);
		sl_send_reply("200", "OK");
		exit;
	}
	if (has_totag()) {
		if (loose_route()) {
			t_relay();
			exit;
		}
		if (is_method("ACK")) {
			if (t_check_trans()) t_relay();
			exit;
		}
		sl_send_reply("404", "Not here");
		exit;
	}
	if (is_method("CANCEL")) {
		if (t_check_trans()) t_relay();
		exit;
	}
	if (is_method("REGISTER")) {
		$var(counter) = "registers"; route(COUNT);
		$sht(seen=>register_proto) = $proto;
		if (!pv_www_authenticate("%(realm)s", "%(password)s", "0")) {
			if ($rc == -2) {
				$var(counter) = "bad_passwords";
				route(COUNT);
			}
			www_challenge("%(realm)s", "0");
			exit;
		}
		if ($au != "%(user)s") {
			sl_send_reply("403", "Forbidden");
			exit;
		}
		if (!save("location")) sl_reply_error();
		$sht(seen=>contact) = $hdr(Contact);
		exit;
	}
	if (is_method("INVITE") && $si == "127.0.0.1" && ($sp == %(customer_port)d || $proto == "tls")) {
		if (!pv_proxy_authenticate("%(realm)s", "%(password)s", "0")) {
			proxy_challenge("%(realm)s", "0");
			exit;
		}
		if ($au != "%(user)s") {
			sl_send_reply("403", "Forbidden");
			exit;
		}
		consume_credentials();
		$var(counter) = "invites"; route(COUNT);
		$sht(seen=>ruri) = $ru;
		$sht(seen=>invite_proto) = $proto;
		$sht(seen=>from) = $hdr(From);
		$sht(seen=>pai) = $hdr(P-Asserted-Identity);
		$sht(seen=>privacy) = $hdr(Privacy);
		$sht(seen=>auth_user) = $au;
		# Numbers starting 180 ring for ever: the call stays up (channel limits).
		if ($rU =~ "^[+]?180") {
			sl_send_reply("180", "Ringing");
			exit;
		}
		if ($sht(ctl=>forward) != $null) {
			$ru = $sht(ctl=>forward);
			record_route();
			t_relay();
			exit;
		}
		$var(code) = 486;
		if ($sht(ctl=>answer) != $null) $var(code) = $sht(ctl=>answer);
		sl_send_reply("$var(code)", "Provider Answer");
		exit;
	}
	if (is_method("INVITE")) {
		# From the PSTN to the customer: its registered Contact, the number in To.
		if (!lookup("location", "sip:%(user)s@%(realm)s")) {
			sl_send_reply("480", "Customer Not Registered");
			exit;
		}
		record_route();
		t_relay();
		exit;
	}
	sl_send_reply("405", "Method Not Allowed");
}

# seen=>$var(counter) += 1 ($shtinc does not create a missing key).
route[COUNT] {
	if ($sht(seen=>$var(counter)) == $null) $sht(seen=>$var(counter)) = 0;
	$var(n) = $shtinc(seen=>$var(counter));
}

event_route[xhttp:request] {
	set_reply_close();
	jsonrpc_dispatch();
}
"""


class FakeProvider:
    def __init__(self, work_dir: Path, *, user: str, password: str, realm: str = "provider.test",
                 customer_port: int, tls: bool = False):
        base = free_port_block(3)
        self.port, self.rpc_port = base, base + 1
        self.tls_port = base + 2 if tls else None
        self.user, self.password, self.realm = user, password, realm
        self.customer_port = customer_port
        self.dir = work_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen | None = None

    @property
    def host(self) -> str:
        """What a trunk's host field says to reach this provider (its TLS port with `tls`)."""
        return f"127.0.0.1:{self.tls_port or self.port}"

    def start(self) -> FakeProvider:
        cfg = self.dir / "provider.cfg"
        cfg.write_text(CONFIG % {
            "port": self.port, "rpc_port": self.rpc_port, "realm": self.realm, "user": self.user,
            "password": self.password, "customer_port": self.customer_port, **self._tls_values(),
        })
        log = open(self.dir / "provider.log", "ab")
        self.process = subprocess.Popen(
            ["kamailio", "-DD", "-E", "-f", str(cfg), "-P", str(self.dir / "provider.pid"), "-Y", str(self.dir),
             "-w", str(self.dir), "-m", "32", "-M", "4"],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                self.rpc("core.version")
                return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError("the fake provider did not start: see " + str(self.dir / "provider.log")) from None
                time.sleep(0.1)
        raise RuntimeError("the fake provider did not answer its RPC")

    def _tls_values(self) -> dict:
        if not self.tls_port:
            return {"tls_listen": "", "tls_modules": ""}
        from appliance.certificates import CertificateFiles, make_self_signed

        files = CertificateFiles(self.dir / "tls" / "provider.crt", self.dir / "tls" / "provider.key")
        make_self_signed(files, [self.realm, "127.0.0.1"])
        tls_cfg = self.dir / "tls.cfg"
        own = f"certificate = {files.certificate}\nprivate_key = {files.key}\n"
        # The customer's certificate is self-signed too: the provider does not check it.
        tls_cfg.write_text(
            "[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n" + own
            + "\n[client:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n" + own)
        return {"tls_listen": f"enable_tls=yes\nlisten=tls:127.0.0.1:{self.tls_port}",
                "tls_modules": f'loadmodule "tls.so"\nmodparam("tls", "config", "{tls_cfg}")'}

    @property
    def certificate(self) -> Path:
        """The provider's (self-signed) certificate, with `tls`."""
        return self.dir / "tls" / "provider.crt"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def rpc(self, method: str, *params):
        body = json.dumps({"jsonrpc": "2.0", "method": method, "params": list(params), "id": 1}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{self.rpc_port}/RPC", data=body,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return json.loads(response.read() or b"{}").get("result")
        except urllib.error.HTTPError:
            return None  # jsonrpcs answers an unknown htable key with an HTTP error

    def seen(self, key: str):
        """What the provider noted: registers, bad_passwords, contact, invites, ruri, from, pai, privacy..."""
        result = self.rpc("htable.get", "seen", key)
        return None if result is None else result.get("item", {}).get("value")

    def answer_with(self, code: int) -> None:
        self.rpc("htable.seti", "ctl", "answer", code)

    def refuse_port(self, port: int | None) -> None:
        """Answer 403 to every request from this source port (None: stop)."""
        if port is None:
            self.rpc("htable.delete", "ctl", "refuse_port")
        else:
            self.rpc("htable.seti", "ctl", "refuse_port", port)

    def forward_to(self, uri: str | None) -> None:
        if uri is None:
            self.rpc("htable.delete", "ctl", "forward")
        else:
            self.rpc("htable.sets", "ctl", "forward", uri)

    def registered_contact(self) -> str | None:
        """The Contact the customer registered (None before its first registration)."""
        result = self.rpc("ul.lookup", "location", f"{self.user}@{self.realm}")
        if not result:
            return None
        contacts = result.get("Contacts") or []
        return contacts[0].get("Contact", {}).get("Address") if contacts else None
