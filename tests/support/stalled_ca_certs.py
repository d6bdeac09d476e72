"""stalled_ca.py's certificates: the CSR signed with its own certificate and key (openssl), and
the downloads --bad-answer chain-... asks for instead (RFC 8555 §7.4.2)."""
import hashlib
import os
import subprocess
import tempfile

from stalled_ca_args import ARGS


def sign_csr(csr_der):
    """The leaf for the CSR, signed with the stand-in's own certificate, then that certificate;
    the download --bad-answer chain-... asks for instead (str, or bytes for DER)."""
    bad = ARGS.bad_answer
    with tempfile.TemporaryDirectory() as scratch:
        csr = os.path.join(scratch, "csr.der")
        leaf = os.path.join(scratch, "leaf.pem")
        with open(csr, "wb") as out:
            out.write(csr_der)
        command = ["openssl", "x509", "-req", "-inform", "DER", "-in", csr, "-CA", ARGS.cert,
                   "-CAkey", ARGS.key, "-days", "1", "-out", leaf]
        extensions = []
        if bad == "chain-other-names":
            extensions.append("subjectAltName = DNS:other.example")
        else:
            command += ["-copy_extensions", "copyall"]
        if ARGS.renewal_info:
            extensions.append(authority_key_id_extension())
        if extensions:
            command += ["-extfile", write_file(scratch, "extensions.cnf", extensions)]
        if bad == "chain-wrong-key":
            command += ["-force_pubkey", another_public_key(scratch)]
        subprocess.run(command, check=True, capture_output=True)
        with open(leaf) as issued, open(ARGS.cert) as issuer:
            leaf_pem, issuer_pem = issued.read(), issuer.read()
        if bad == "chain-not-pem":
            return subprocess.run(["openssl", "x509", "-in", leaf, "-outform", "DER"],
                                  check=True, capture_output=True).stdout
    if bad == "chain-too-long":
        return leaf_pem + filler_certificate() * 799
    if bad == "chain-garbage":
        return leaf_pem + "<html><body><h1>502 Bad Gateway</h1></body></html>\n"
    if bad == "chain-empty":
        return ""
    return leaf_pem + issuer_pem


def write_file(scratch, name, lines):
    path = os.path.join(scratch, name)
    with open(path, "w") as out:
        out.write("".join(line + "\n" for line in lines))
    return path


def another_public_key(scratch):
    """--bad-answer chain-wrong-key: the file of a P-256 public key nobody's CSR holds."""
    key, public = os.path.join(scratch, "other.key"), os.path.join(scratch, "other.pub")
    for command in (["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                     "-out", key], ["pkey", "-in", key, "-pubout", "-out", public]):
        subprocess.run(["openssl", *command], check=True, capture_output=True)
    return public


FILLER = []  # --bad-answer chain-too-long: the one small certificate repeated, once made


def filler_certificate():
    """A self-signed P-256 certificate of about 560 bytes (its key thrown away)."""
    if not FILLER:
        with tempfile.TemporaryDirectory() as scratch:
            FILLER.append(subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:P-256", "-nodes", "-keyout", os.path.join(scratch, "key.pem"),
                 "-subj", "/CN=filler", "-days", "1"],
                check=True, capture_output=True, text=True).stdout)
    return FILLER[0]


def authority_key_id_extension():
    """The extensions file line giving the leaf an Authority Key Identifier (RFC 5280
    §4.2.1.1): RFC 9773 §4.1 builds the CertID from its keyIdentifier. The stand-in's certificate
    has no Subject Key Identifier to copy (openssl refuses "keyid:always"), so the key identifier
    is 20 bytes of its own making, the length of RFC 5280 §4.2.1.2's SHA-1 one, as DER:
    SEQUENCE { [0] ... }."""
    with open(ARGS.cert, "rb") as issuer:
        key_id = hashlib.sha1(issuer.read()).digest()
    return "authorityKeyIdentifier = DER:30:16:80:14:" + ":".join(f"{byte:02x}"
                                                                  for byte in key_id)
