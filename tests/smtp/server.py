#!/usr/bin/env python3
"""An institution's mail server on loopback, for Trámite's tests (api/tests/api/mail_tls.rs).

aiosmtpd with TLS and AUTH: STARTTLS required before anything else (the default), or TLS from
the first byte (--smtps); AUTH PLAIN or LOGIN for one user and password, required before MAIL.
Its certificate is signed by a CA it makes on first start in --dir (ca.pem, server.pem,
server.key; kept for later starts), valid for localhost, 127.0.0.1 and ::1 (or the names of
--names).

What it sees is appended to --dir as JSON lines: auth.jsonl, one line per AUTH attempt
({"user", "ok", "tls"}), and received.jsonl, one line per message accepted ({"user", "tls",
"from", "to", "message_id", "data"}), where "tls" is the protocol version or null.

Usage: server.py --dir DIR --port PORT --user USER --password PASSWORD [--smtps] [--names N,N…]
       server.py --dir DIR --certificates-only     (makes the CA and certificate, and exits)
"""

import argparse
import asyncio
import datetime
import email.parser
import ipaddress
import json
import os
import ssl
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def make_certificates(folder, hosts):
    """A CA and a server certificate for `hosts` it signs, as PEM files in `folder` (unless
    there already)."""
    if os.path.exists(os.path.join(folder, "ca.pem")):
        return
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=30)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    # A name of its own: two test CAs are as unrelated as two real ones.
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Tramite test CA {os.urandom(4).hex()}")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    os.makedirs(folder, exist_ok=True)
    pem = serialization.Encoding.PEM
    with open(os.path.join(folder, "server.key"), "wb") as f:
        f.write(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with open(os.path.join(folder, "server.pem"), "wb") as f:
        f.write(cert.public_bytes(pem))
    # ca.pem last: its presence says the set is complete.
    with open(os.path.join(folder, "ca.pem.tmp"), "wb") as f:
        f.write(ca.public_bytes(pem))
    os.replace(os.path.join(folder, "ca.pem.tmp"), os.path.join(folder, "ca.pem"))


def tls_version(server):
    ssl_object = server.transport.get_extra_info("ssl_object") if server.transport else None
    return ssl_object.version() if ssl_object else None


def record(folder, name, entry):
    with open(os.path.join(folder, name), "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


class Mailbox:
    def __init__(self, folder):
        self.folder = folder

    async def handle_DATA(self, server, session, envelope):
        data = envelope.content.decode("utf-8", errors="replace")
        headers = email.parser.Parser().parsestr(data, headersonly=True)
        user = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        record(self.folder, "received.jsonl", {
            "user": user, "tls": tls_version(server), "from": envelope.mail_from,
            "to": envelope.rcpt_tos, "message_id": headers.get("Message-ID"), "data": data,
        })
        return "250 OK"


def main():
    args = argparse.ArgumentParser()
    args.add_argument("--dir", required=True)
    args.add_argument("--port", type=int)
    args.add_argument("--user")
    args.add_argument("--password")
    args.add_argument("--smtps", action="store_true", help="TLS from the first byte instead of STARTTLS")
    args.add_argument("--certificates-only", action="store_true")
    args.add_argument("--names", default="localhost,127.0.0.1,::1", help="what the certificate is for")
    a = args.parse_args()

    make_certificates(a.dir, a.names.split(","))
    if a.certificates_only:
        return
    if a.port is None or a.user is None or a.password is None:
        args.error("--port, --user and --password are required to serve")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(os.path.join(a.dir, "server.pem"), os.path.join(a.dir, "server.key"))

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == a.user
              and auth_data.password.decode() == a.password)
        login = auth_data.login.decode() if isinstance(auth_data, LoginPassword) else None
        record(a.dir, "auth.jsonl", {"user": login, "ok": ok, "tls": tls_version(server)})
        if not ok:
            return AuthResult(success=False, handled=False)  # aiosmtpd answers 535
        return AuthResult(success=True, auth_data=auth_data)

    handler = Mailbox(a.dir)
    # Over --smtps the whole connection is TLS, which aiosmtpd's own TLS check does not see.
    warnings.simplefilter("ignore")
    options = dict(authenticator=authenticator, auth_required=True, hostname="mail.test")
    if a.smtps:
        factory = lambda: SMTP(handler, auth_require_tls=False, **options)  # noqa: E731
        tls = context
    else:
        factory = lambda: SMTP(handler, tls_context=context, require_starttls=True, **options)  # noqa: E731
        tls = None

    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(factory, "127.0.0.1", a.port, ssl=tls))
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()
