"""tests/bench/edge's driver: seeds domains and certificates (keys sealed as the service seals
them: AES-256-GCM under the KEK, base64url(nonce || ciphertext || tag)), renews them, and times
"stored" -> "served by HAProxy" with TLS handshakes."""
import base64
import datetime
import os
import socket
import ssl
import statistics
import subprocess
import sys
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

DATABASE_URL = os.environ["DATABASE_URL"]
KEK = bytes.fromhex(open(os.environ["KEY_ENCRYPTION_KEY_FILE"]).read().strip())


def psql(sql):
    subprocess.run(["psql", DATABASE_URL, "-qtAX", "-v", "ON_ERROR_STOP=1"], input=sql,
                   text=True, check=True, stdout=subprocess.DEVNULL)


def certificate(name):
    """A self-signed P-256 certificate for name (and its key, sealed)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), False)
            .sign(key, hashes.SHA256()))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    nonce = os.urandom(12)
    sealed = base64.urlsafe_b64encode(nonce + AESGCM(KEK).encrypt(nonce, pem, None))
    return cert.public_bytes(serialization.Encoding.PEM).decode(), \
        sealed.decode().rstrip("="), cert.serial_number


def insert(domain_index, name):
    pem, sealed, serial = certificate(name)
    return serial, (
        f"INSERT INTO certificates (id, domain_id, certificate_pem, chain_pem, "
        f"private_key_ciphertext, key_id, issued_at, expires_at) VALUES "
        f"(md5('c' || {domain_index} || clock_timestamp()), md5('d{domain_index}'), '{pem}', '', "
        f"'{sealed}', 'bench', now(), now() + interval '30 days');")


def name_of(i):
    return f"d{i}.edge-bench.example"


def seed(n):
    psql(f"INSERT INTO domains (id, domain_name, verification_token, status, verified_at) "
         f"SELECT md5('d' || i), 'd' || i || '.edge-bench.example', md5('t' || i) || md5('u' || i),"
         f" 'active', now() FROM generate_series(1, {n}) i;")
    renew_all(n)


def renew_all(n=None):
    if n is None:
        n = int(subprocess.run(["psql", DATABASE_URL, "-qtAX", "-c",
                                "SELECT count(*) FROM domains"], text=True, check=True,
                               capture_output=True).stdout)
    statements = ["BEGIN;"] + [insert(i, name_of(i))[1] for i in range(1, n + 1)] + ["COMMIT;"]
    psql("\n".join(statements))


def served_serial(port, name):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=name) as tls:
            return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True)).serial_number


def latency(port, renewals, log):
    # Wait for the agent's first reconcile (it reads every certificate once at start).
    deadline = time.monotonic() + 300
    serial, sql = insert(1, name_of(1))
    psql(sql)
    while served_serial(port, name_of(1)) != serial:
        if time.monotonic() > deadline:
            sys.exit("the agent did not start serving within 300 s; see " + log)
        time.sleep(0.05)
    waits = []
    for i in range(2, renewals + 2):
        serial, sql = insert(i, name_of(i))
        psql(sql)  # returns once committed: NOTIFY is sent at commit
        stored = time.monotonic()
        while served_serial(port, name_of(i)) != serial:
            if time.monotonic() - stored > 30:
                sys.exit(f"renewal {i} not served within 30 s; see {log}")
            time.sleep(0.002)
        waits.append((time.monotonic() - stored) * 1000)
    waits.sort()
    print(f"  stored -> served by HAProxy, {renewals} renewals one at a time: "
          f"p50 {statistics.median(waits):.0f} ms, p95 {waits[int(0.95 * len(waits)) - 1]:.0f} ms, "
          f"max {waits[-1]:.0f} ms (handshake polled every 2 ms)")


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "seed":
        seed(int(sys.argv[2]))
    elif command == "renew-all":
        renew_all()
    elif command == "latency":
        latency(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
