"""TLS for the two MySQL drivers, always verifying the certificate and the host name.

TiDB Cloud refuses plain connections (error 1105, "insecure transport") and
presents Let's Encrypt certificates, so a CA bundle that holds ISRG Root X1
is enough: the system's where there is one, else certifi's (if installed).
"""

from __future__ import annotations

import os
import ssl

from .errors import ConfigError

#: Where Linux distributions and macOS keep the system CA bundle (TiDB Cloud docs).
SYSTEM_CA_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Arch
    "/etc/pki/tls/certs/ca-bundle.crt",  # RHEL, Fedora, CentOS
    "/etc/ssl/ca-bundle.pem",  # OpenSUSE
    "/etc/ssl/cert.pem",  # macOS, Alpine
)

#: TLS is mandatory under this domain, so it is switched on without being asked.
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
    if os.path.isdir(ca_path):
        raise ConfigError.of("ssl_ca", "a directory, not a file: %s" % ca_path)
    if not os.path.isfile(ca_path):
        raise ConfigError.of("ssl_ca", "no such file: %s" % ca_path)
    if not os.access(ca_path, os.R_OK):
        raise ConfigError.of("ssl_ca", "file is not readable: %s" % ca_path)
    try:
        context = ssl.create_default_context(cafile=ca_path)
    except (ssl.SSLError, ValueError, UnicodeDecodeError):
        raise ConfigError.of("ssl_ca", "not a PEM certificate file: %s" % ca_path) from None
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


def no_key_password() -> bytes:
    """An encrypted key would make OpenSSL prompt on the terminal: fail instead."""
    return b""
