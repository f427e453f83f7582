"""Regenerates the JWT policy's test keys, config and tokens.

TEST KEYS ONLY: the private keys in this folder are public and must never
protect anything. Run with a Python that has PyJWT and cryptography:

    python3 -m venv /tmp/mint && /tmp/mint/bin/pip install pyjwt cryptography
    /tmp/mint/bin/python policies/jwt/testdata/mint.py

Writes keys.json (private material), ../config.json (the example policy config,
public keys only) and tokens.json (named tokens used by unit tests and cases).
"""
import base64, json, os
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa, ec
from cryptography.hazmat.primitives import serialization

here = os.path.dirname(os.path.abspath(__file__))
ISS, AUD = "https://auth.example.com/", "notes-api"
FAR, PAST = 4102444800, 1700000000  # 2100-01-01, 2023-11-14


def b64(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


keys_path = os.path.join(here, "keys.json")
if os.path.exists(keys_path):
    k = json.load(open(keys_path))
    hs_secret = k["hs256_secret"]
    rsa_key = serialization.load_pem_private_key(k["rs256_pem"].encode(), None)
    ec_key = serialization.load_pem_private_key(k["es256_pem"].encode(), None)
else:
    hs_secret = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    pem = lambda key: key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()).decode()
    json.dump({"hs256_secret": hs_secret, "rs256_pem": pem(rsa_key), "es256_pem": pem(ec_key)},
              open(keys_path, "w"), indent=2)

rsa_pub = rsa_key.public_key().public_numbers()
ec_pub = ec_key.public_key().public_numbers()
jwks = {"keys": [
    {"kty": "oct", "kid": "hs-1", "alg": "HS256", "k": hs_secret},
    {"kty": "RSA", "kid": "rs-1", "alg": "RS256", "use": "sig", "n": b64(rsa_pub.n), "e": b64(rsa_pub.e)},
    {"kty": "EC", "kid": "es-1", "alg": "ES256", "use": "sig", "crv": "P-256",
     "x": b64(ec_pub.x).rjust(43, "A"), "y": b64(ec_pub.y).rjust(43, "A")},
]}
config = {
    "jwks": jwks,
    "issuers": [ISS],
    "audiences": [AUD],
    "leeway_seconds": 60,
    "scopes": {
        "notes:read": [{"method": "GET", "path": "/notes"}],
        "notes:admin": [{"method": "*", "path": "/notes"}, {"method": "*", "path": "/notes/*"}],
    },
    "context_claims": ["email", "tenant", "notesReadAny"],
}
json.dump(config, open(os.path.join(here, "..", "config.json"), "w"), indent=2)

hs = base64.urlsafe_b64decode(hs_secret + "=" * (-len(hs_secret) % 4))


def claims(**over):
    c = {"iss": ISS, "aud": AUD, "sub": "user1", "exp": FAR, "iat": PAST, "scope": "notes:read",
         "email": "user1@example.com"}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def sign(c, alg="HS256", kid="hs-1", key=None):
    key = key if key is not None else {"HS256": hs, "RS256": rsa_key, "ES256": ec_key}[alg]
    headers = {"kid": kid} if kid else None
    return jwt.encode(c, key, algorithm=alg, headers=headers)


def hmac_by_hand(c, kid, secret):
    """HS256 with an arbitrary secret (PyJWT refuses PEM keys as HMAC secrets)."""
    import hashlib, hmac
    enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    signing_input = enc(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode()) + "." + \
        enc(json.dumps(c).encode())
    return signing_input + "." + enc(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())


good_hs = sign(claims())
head, body, sig = good_hs.split(".")
tampered_body = base64.urlsafe_b64encode(json.dumps(claims(sub="admin")).encode()).rstrip(b"=").decode()
none_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
rsa_pub_pem = rsa_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
tokens = {
    "hs256_user1": good_hs,
    "rs256_user2": sign(claims(sub="user2", email="user2@example.com"), "RS256", "rs-1"),
    "es256_admin": sign(claims(sub="admin", scope="notes:read notes:admin", email="admin@example.com",
                               notesReadAny=True, tenant="acme"), "ES256", "es-1"),
    "scope_array": sign(claims(scope=None, scp=["notes:read"])),
    "no_kid": sign(claims(), kid=None),
    "no_grants": sign(claims(scope="profile")),
    "expired": sign(claims(exp=PAST)),
    "not_yet_valid": sign(claims(nbf=4000000000)),
    "wrong_issuer": sign(claims(iss="https://evil.example.com/")),
    "wrong_audience": sign(claims(aud="other-api")),
    "no_exp": sign(claims(exp=None)),
    "no_sub": sign(claims(sub=None)),
    "tampered": f"{head}.{tampered_body}.{sig}",
    "alg_none": f"{none_header}.{body}.",
    "unknown_kid": sign(claims(), kid="hs-unknown"),
    "wrong_hs_secret": sign(claims(), key=b"not-the-configured-secret-0123456789"),
    "alg_confusion_rsa_pub_as_hmac": hmac_by_hand(claims(), "rs-1", rsa_pub_pem),
    "garbage": "not.a.jwt",
}
json.dump(tokens, open(os.path.join(here, "tokens.json"), "w"), indent=2)

ARN = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/notes"


def case(name, token, expect, now=None):
    c = {"name": name, "event": {"type": "TOKEN", "authorizationToken": token, "methodArn": ARN}, "expect": expect}
    if now is not None:
        c["now"] = now
    return c


bearer = lambda name: "Bearer " + tokens[name]
cases = {"now": "2026-01-01T00:00:00Z", "cases": [
    case("HS256 token of user1 reads notes", bearer("hs256_user1"),
         {"outcome": "allow", "principal": "user1", "context": {"email": "user1@example.com"},
          "allows": ["GET /notes"], "denies": ["DELETE /notes", "GET /notes/n1"]}),
    case("RS256 token of user2 reads notes", bearer("rs256_user2"),
         {"outcome": "allow", "principal": "user2", "allows": ["GET /notes"]}),
    case("ES256 admin token gets both scopes and the admin context", bearer("es256_admin"),
         {"outcome": "allow", "principal": "admin", "context": {"notesReadAny": True, "tenant": "acme"},
          "allows": ["GET /notes", "DELETE /notes/n1", "POST /notes"], "denies": ["GET /admin"]}),
    case("scopes as an scp array", bearer("scope_array"), {"outcome": "allow", "allows": ["GET /notes"]}),
    case("a token without kid is matched by algorithm", tokens["no_kid"], {"outcome": "allow"}),
    case("a valid token whose scopes grant nothing is denied", bearer("no_grants"),
         {"outcome": "deny", "principal": "user1", "denies": ["GET /notes"]}),
    case("expired", bearer("expired"), {"outcome": "unauthorized"}),
    case("expired, but inside the 60 s leeway", bearer("expired"), {"outcome": "allow"}, now=PAST * 1000 + 60000),
    case("not valid yet", bearer("not_yet_valid"), {"outcome": "unauthorized"}),
    case("wrong issuer", bearer("wrong_issuer"), {"outcome": "unauthorized"}),
    case("wrong audience", bearer("wrong_audience"), {"outcome": "unauthorized"}),
    case("no exp claim", bearer("no_exp"), {"outcome": "unauthorized"}),
    case("no sub claim", bearer("no_sub"), {"outcome": "unauthorized"}),
    case("payload tampered after signing", bearer("tampered"), {"outcome": "unauthorized"}),
    case("alg none", bearer("alg_none"), {"outcome": "unauthorized"}),
    case("unknown kid", bearer("unknown_kid"), {"outcome": "unauthorized"}),
    case("signed with another HMAC secret", bearer("wrong_hs_secret"), {"outcome": "unauthorized"}),
    case("RSA public key used as an HMAC secret", bearer("alg_confusion_rsa_pub_as_hmac"), {"outcome": "unauthorized"}),
    case("not a JWT", bearer("garbage"), {"outcome": "unauthorized"}),
    case("no token", "", {"outcome": "unauthorized"}),
]}
json.dump(cases, open(os.path.join(here, "..", "cases.json"), "w"), indent=2)
print("wrote keys.json, ../config.json, tokens.json, ../cases.json")
