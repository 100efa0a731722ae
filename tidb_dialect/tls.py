"""TLS for the two MySQL drivers, always verifying the certificate and the host name.

TiDB Cloud Starter and Essential refuse plain connections (error 1105,
"insecure transport") and present Let's Encrypt certificates, so a CA bundle
that holds ISRG Root X1 is enough: the system's where there is one, else
certifi's (if installed). Dedicated and Premium have a CA of their own per
cluster or instance; Premium's hosts follow no documented pattern, so only
ssl_ca turns TLS on for them.
"""

from __future__ import annotations

import os
import re
import ssl
import stat

from .errors import ConfigError

#: Where Linux distributions and macOS keep the system CA bundle (TiDB Cloud docs).
SYSTEM_CA_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Arch
    "/etc/pki/tls/certs/ca-bundle.crt",  # RHEL, Fedora, CentOS
    "/etc/ssl/ca-bundle.pem",  # OpenSUSE
    "/etc/ssl/cert.pem",  # macOS, Alpine
)

#: What a path can be other than a file or a directory (/dev/null is a character device).
NOT_FILES = (
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
)
#: The PEM headers OpenSSL reads as a certificate, and those of a private key.
PEM_CERTIFICATE = re.compile(rb"-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----")
PEM_PRIVATE_KEY = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----")

#: TiDB Cloud Starter and Essential: TLS is mandatory under this domain, so it is switched on
#: without being asked.
TLS_REQUIRED_DOMAIN = "tidbcloud.com"


#: TiDB Cloud Dedicated (tidb.<id>.clusters.tidb-cloud.com): TLS is not forced, and each
#: cluster has a CA of its own, so no CA bundle can stand in for it.
OWN_CA_DOMAIN = "tidb-cloud.com"


def tls_required(host: str) -> bool:
    """True for TiDB Cloud; `host` must already be normalised (see connection.resolver_host)."""
    return host == TLS_REQUIRED_DOMAIN or host.endswith("." + TLS_REQUIRED_DOMAIN)


def require_cluster_ca(host: str, ca_path: str | None) -> None:
    """Refuse a TiDB Cloud Dedicated host without its cluster's CA (`host` normalised):
    it would accept the password in clear."""
    if ca_path is None and (host == OWN_CA_DOMAIN or host.endswith("." + OWN_CA_DOMAIN)):
        raise ConfigError.of(
            "ssl_ca",
            "%s is a TiDB Cloud Dedicated cluster, which signs its certificate with a CA of "
            "its own: download the cluster's CA certificate from its Connect dialog and set "
            "this to that file" % host,
        )


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


def verifying_context(
    ca_path: str, cert: str | None = None, key: str | None = None
) -> ssl.SSLContext:
    """An SSLContext that checks the certificate against `ca_path` and the host name.

    Building it is also the check that the files can serve, so a bad file is
    refused before any connection, with the keyword that named it.
    """
    check_ca_file(ca_path)
    try:
        context = ssl.create_default_context(cafile=ca_path)
    except (ssl.SSLError, ValueError, UnicodeDecodeError):
        raise ConfigError.of("ssl_ca", "not a PEM certificate file: %r" % (ca_path,)) from None
    # Both are create_default_context()'s defaults; said again because they are the point.
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    if cert:
        try:
            context.load_cert_chain(cert, keyfile=key, password=no_key_password)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError.of(
                "ssl_cert", "cannot load the client certificate %s (%s)" % (cert, exc.strerror)
            ) from None
    return context


def check_ca_file(path: str) -> None:
    """ConfigError saying what `path` is, unless it is a readable file with a PEM certificate.

    The path is quoted (repr), so a stray newline or control character in it
    shows as such and the message stays one line.
    """

    def refused(problem: str) -> ConfigError:
        return ConfigError.of("ssl_ca", "%s: %r" % (problem, path))

    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise refused("a directory, not a file")
        for is_kind, kind in NOT_FILES:
            if is_kind(mode):
                raise refused("%s, not a file" % kind)
        with open(path, "rb") as file:
            data = file.read()
    except (FileNotFoundError, NotADirectoryError):
        raise refused("no such file") from None
    except PermissionError:
        raise refused("file is not readable") from None
    except OSError as exc:
        raise refused("cannot be read (%s)" % exc.strerror) from None
    if not data.strip():
        raise refused("the file is empty")
    if not PEM_CERTIFICATE.search(data):
        if PEM_PRIVATE_KEY.search(data):
            raise refused("holds a private key, not a CA certificate")
        raise refused("not a PEM certificate file")


def no_key_password() -> bytes:
    """An encrypted key would make OpenSSL prompt on the terminal: fail instead."""
    return b""
