"""A real SMTP server for Cardfile's delivery tests (aiosmtpd), on 127.0.0.1.

Every accepted message is written to SPOOL as NNNNNN.eml (the DATA as received), one file per
message, written whole and then renamed, so a reader never sees half a message.

Options:
  --port N            listen on N (required: the tests pick it, so a server can come up later)
  --spool DIR         where messages go
  --tls CERT KEY      offer STARTTLS with this certificate
  --require-tls       refuse MAIL before STARTTLS
  --auth FILE         require AUTH PLAIN/LOGIN; FILE holds "user:password" and is read at every
                      attempt, so a test can change the password while the server runs
  --auth-only MECH    offer only this AUTH mechanism (LOGIN or PLAIN)
  --reject PREFIX     answer 550 to RCPT TO addresses starting with PREFIX

Prints "READY" on stdout once it accepts connections; runs until killed.
"""

import argparse
import itertools
import logging
import os
import ssl
import sys
import time
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def main():
    # Plain-text AUTH is what some tests want; keep aiosmtpd's warning about it out of the log.
    warnings.simplefilter("ignore")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--spool", required=True)
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--require-tls", action="store_true")
    p.add_argument("--auth")
    p.add_argument("--auth-only", choices=["LOGIN", "PLAIN"])
    p.add_argument("--reject")
    a = p.parse_args()
    os.makedirs(a.spool, exist_ok=True)
    # Numbered after what an earlier server left in the spool, so a restart overwrites nothing.
    counter = itertools.count(1 + sum(1 for n in os.listdir(a.spool) if n.endswith(".eml")))

    class Sink:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if a.reject and address.startswith(a.reject):
                return "550 5.1.1 <%s>: no such user here" % address
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            n = next(counter)
            name = os.path.join(a.spool, "%06d.eml" % n)
            tmp = name + ".tmp"
            with open(tmp, "wb") as f:
                f.write(envelope.original_content)
            os.rename(tmp, name)
            return "250 2.0.0 accepted as %d" % n

    def authenticator(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        with open(a.auth, "rb") as f:
            user, _, password = f.read().strip().partition(b":")
        ok = auth_data.login == user and auth_data.password == password
        # handled=False: aiosmtpd answers the failure itself (535).
        return AuthResult(success=ok, handled=False)

    kwargs = {}
    if a.tls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.tls[0], a.tls[1])
        kwargs["tls_context"] = ctx
        kwargs["require_starttls"] = a.require_tls
    if a.auth:
        kwargs["authenticator"] = authenticator
        kwargs["auth_required"] = True
        # Credentials only over TLS when TLS is offered; over plain text for the tls=none test.
        kwargs["auth_require_tls"] = bool(a.tls)
        if a.auth_only:
            kwargs["auth_exclude_mechanism"] = [m for m in ("LOGIN", "PLAIN") if m != a.auth_only]
    controller = Controller(Sink(), hostname="127.0.0.1", port=a.port, server_kwargs=kwargs, ready_timeout=10)
    controller.start()
    print("READY", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    sys.exit(main())
