"""TLS for the drivers, always verifying the certificate and the host name, never turned off."""

from __future__ import annotations

import os
import re
import ssl
import stat
from collections.abc import Mapping
from typing import Any

from .errors import ConfigError

#: Where Linux distributions (Debian, RHEL, OpenSUSE) and macOS keep the system CA bundle.
SYSTEM_CA_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
)
#: Kinds of path that are not a file, as a message says them (/dev/null: a character device).
NOT_FILES = {
    stat.S_IFDIR: "a directory",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
}
PEM_CERTIFICATE = re.compile(rb"-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----")
PEM_PRIVATE_KEY = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----")


def under(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def tls_required(host: str) -> bool:
    """Starter and Essential refuse plain connections; `host` is keywords.resolver_host()'s."""
    return under(host, "tidbcloud.com")


def tls_keywords(
    driver: str, host: str, given: Mapping[str, Any], files: Mapping[str, str]
) -> dict[str, Any]:
    """The driver's TLS keywords from the ssl* ones (flags checked) and `files` ({keyword:
    path}), {} when TLS is off; verification asked without a CA is refused, never dropped."""
    mode = given.get("ssl_mode", "VERIFY_IDENTITY")
    if not isinstance(mode, str) or mode.upper() != "VERIFY_IDENTITY":
        raise ConfigError.of(
            "ssl_mode",
            "only VERIFY_IDENTITY is accepted, got %r (other modes skip the certificate "
            "or host name check)" % (mode,),
        )
    if "ssl_key" in files and "ssl_cert" not in files:
        raise ConfigError.of("ssl_key", "needs ssl_cert, the client certificate it belongs to")
    asked = ("ssl_verify_cert", "ssl_verify_identity", "ssl_mode", "ssl_cert")
    asked_by = [name for name in asked if name in given or name in files]
    if "ssl_ca" in files:
        ca_path = os.path.expanduser(files["ssl_ca"])
    elif under(host, "tidb-cloud.com"):  # Dedicated: TLS not forced, the password would go in clear
        raise ConfigError.of(
            "ssl_ca",
            "%s is a TiDB Cloud Dedicated cluster, which signs its certificate with a CA of "
            "its own: download the cluster's CA certificate from its Connect dialog and set "
            "this to that file" % host,
        )
    elif tls_required(host):  # Let's Encrypt certificates
        ca_path = default_ca_bundle()
    elif asked_by:
        raise ConfigError.of(
            asked_by[0], "needs ssl_ca, the CA file that signed the server's certificate"
        )
    else:
        return {}  # Premium's hosts follow no documented pattern: ssl_ca alone turns TLS on
    context = verifying_context(ca_path, files.get("ssl_cert"), files.get("ssl_key"))
    if driver in ("pymysql", "aiomysql"):
        return {"ssl": context}  # one context for every connection of the database
    ssl_files = {"ca": ca_path, **{n[4:]: files[n] for n in ("ssl_cert", "ssl_key") if n in files}}
    return {"ssl_mode": "VERIFY_IDENTITY", "ssl": ssl_files}


def default_ca_bundle() -> str:
    """The system CA bundle, or certifi's where the system has none (Windows)."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile, *SYSTEM_CA_BUNDLES):
        if candidate and os.path.isfile(candidate):
            return candidate
    try:
        import certifi
    except ImportError:
        raise ConfigError.of(
            "ssl_ca",
            "TLS is required, but this system has no CA bundle: give ssl_ca=PATH "
            "(or install certifi)",
        ) from None
    return certifi.where()


def verifying_context(ca: str, cert: str | None = None, key: str | None = None) -> ssl.SSLContext:
    """Verifying certificate and host name; built before any connection, to name a bad file."""
    check_ca_file(ca)
    try:
        context = ssl.create_default_context(cafile=ca)
    except (ssl.SSLError, ValueError, UnicodeDecodeError):
        raise ConfigError.of("ssl_ca", "not a PEM certificate file: %r" % (ca,)) from None
    if cert:
        try:  # the password callback: an encrypted key fails rather than prompting
            context.load_cert_chain(cert, keyfile=key, password=lambda: b"")
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError.of(
                "ssl_cert", "cannot load the client certificate %s (%s)" % (cert, exc.strerror)
            ) from None
    return context


def check_ca_file(path: str) -> None:
    """ConfigError saying what `path` is (quoted: one line whatever it holds), unless it is
    a readable file holding a PEM certificate; a FIFO or a device is never opened."""
    try:
        kind = stat.S_IFMT(os.stat(path).st_mode)
        if kind in NOT_FILES:
            problem = "%s, not a file" % NOT_FILES[kind]
        else:
            with open(path, "rb") as file:
                data = file.read()
            if PEM_CERTIFICATE.search(data):
                return
            problem = "the file is empty" if not data.strip() else "not a PEM certificate file"
            if PEM_PRIVATE_KEY.search(data):
                problem = "holds a private key, not a CA certificate"
    except (FileNotFoundError, NotADirectoryError):
        problem = "no such file"
    except PermissionError:
        problem = "file is not readable"
    except OSError as exc:
        problem = "cannot be read (%s)" % exc.strerror
    raise ConfigError.of("ssl_ca", "%s: %r" % (problem, path))
