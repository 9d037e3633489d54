"""TLS on the gRPC server: a client with the CA connects, a plaintext one cannot."""

import datetime

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.server import Server
from shared.client import ClientError, connect
from shared.stack.procs import free_port


def _self_signed(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_tls_server(settings, admin_token, tmp_path):
    cert, key = _self_signed(tmp_path)
    port = free_port()
    tls = settings.with_overrides(grpc_host="localhost", grpc_port=port, tls_cert=cert, tls_key=key)
    server = Server(tls, ["jobs"], supervise=False)
    server.start()
    try:
        with connect(f"localhost:{port}", admin_token, settings=tls, tls_ca=cert) as secure:
            assert secure.list_jobs().page.total_size >= 0
        with connect(f"localhost:{port}", admin_token, settings=tls, tls=False) as plain:
            plain.retries = 0
            with pytest.raises(ClientError) as err:
                plain.list_jobs()
            assert err.value.code == grpc.StatusCode.UNAVAILABLE
    finally:
        server.stop(0)
