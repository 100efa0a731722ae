"""TLS settings for the two MySQL drivers, always verifying certificate and host name.

TiDB Cloud Serverless refuses plain connections (error 1105, "insecure
transport") and presents Let's Encrypt certificates, so a CA bundle that
holds ISRG Root X1 is enough: the system's where there is one, else certifi's.
"""

import os
import ssl

import certifi

from .errors import ConfigError

#: Where Linux distributions and macOS keep the system CA bundle (TiDB Cloud docs).
SYSTEM_CA_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Arch
    "/etc/pki/tls/certs/ca-bundle.crt",  # RHEL, Fedora, CentOS
    "/etc/ssl/ca-bundle.pem",  # OpenSUSE
    "/etc/ssl/cert.pem",  # macOS, Alpine
)

#: TLS is mandatory on these hosts, so it is switched on without being asked.
TLS_REQUIRED_DOMAINS = (".tidbcloud.com",)


def tls_required(host):
    return host.lower().rstrip(".").endswith(TLS_REQUIRED_DOMAINS)


def default_ca_bundle():
    """The system CA bundle, or certifi's where the system has none (Windows)."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile, *SYSTEM_CA_BUNDLES):
        if candidate and os.path.isfile(candidate):
            return candidate
    return certifi.where()


def check_ca_file(path, setting="CA_PATH"):
    """Fail before connecting when the CA file cannot serve, naming the setting."""
    if os.path.isdir(path):
        raise ConfigError("%s: a directory, not a file: %s" % (setting, path))
    if not os.path.isfile(path):
        raise ConfigError("%s: no such file: %s" % (setting, path))
    if not os.access(path, os.R_OK):
        raise ConfigError("%s: file is not readable: %s" % (setting, path))
    try:
        ssl.create_default_context(cafile=path)
    except (ssl.SSLError, ValueError, UnicodeDecodeError):
        raise ConfigError("%s: not a PEM certificate file: %s" % (setting, path)) from None
    return path


def tls_params(driver, ca_path):
    """Connection keywords that turn on TLS with full verification for `driver`."""
    if driver == "pymysql":
        return {"ssl_ca": ca_path, "ssl_verify_cert": True, "ssl_verify_identity": True}
    if driver == "mysqlclient":
        return {"ssl_mode": "VERIFY_IDENTITY", "ssl": {"ca": ca_path}}
    raise ConfigError("TIDB_DRIVER: unknown driver %r (use pymysql or mysqlclient)" % driver)
