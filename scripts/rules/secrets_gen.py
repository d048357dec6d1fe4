#!/usr/bin/env python3
"""Generates crates/vallum-rules/rules/secrets.toml and testdata/secrets.jsonl.

Every example value is a random string made here (fixed seed) in the provider's documented
shape, with a valid checksum where the format has one; none is a real credential.
Run from the repository root: python3 scripts/rules/secrets_gen.py .
"""
import base64
import hashlib
import json
import random
import string
import sys
import zlib

R = random.Random(20261122)
UP, LO, DG = string.ascii_uppercase, string.ascii_lowercase, string.digits
AN = UP + LO + DG
ANL = LO + DG
ANU = UP + DG
HEX = "0123456789abcdef"
HEXU = "0123456789ABCDEF"
B64 = AN + "+/"
B64U = AN + "-_"
B32 = UP + "234567"
BECH = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

PLACEHOLDER_WORDS = ["example", "your", "dummy", "placeholder", "changeme", "change_me", "redacted",
                     "sample", "insert", "replace", "foobar", "xxxx", "****", "....", "0000000000",
                     "1234567890", "abcdefgh", "token_here", "key_here", "secret_here", "not_a_real",
                     "fake", "test"]


def looks_placeholder(s):
    low = s.lower()
    if any(w in low for w in PLACEHOLDER_WORDS):
        return True
    tail = [c for c in low if c.isalnum()]
    pairs = sum(1 for a, b in zip(tail, tail[1:]) if a == b)
    return len(tail) >= 8 and pairs * 10 >= len(tail) * 8


def rnd(alpha, n):
    while True:
        s = "".join(R.choice(alpha) for _ in range(n))
        if not looks_placeholder(s) and (len(set(alpha) & set(DG)) == 0 or n < 8 or any(c in DG for c in s)):
            return s


B62 = DG + UP + LO


def b62(n, w=6):
    s = ""
    while n:
        s = B62[n % 62] + s
        n //= 62
    return s.rjust(w, "0")


def b36(n, w):
    d = DG + LO
    s = ""
    while n:
        s = d[n % 36] + s
        n //= 36
    return s.rjust(w, "0")


def gh(prefix, n=30):
    body = rnd(AN, n)
    return prefix + body + b62(zlib.crc32(body.encode()))


def broken(tok):
    """Same shape, checksum off by one character."""
    last = tok[-1]
    repl = "B" if last != "B" else "C"
    return tok[:-1] + repl


def fine_grained():
    head = "github_pat_11" + rnd(ANU, 20) + "_" + rnd(AN, 43)
    digest = hashlib.sha256(head.encode()).digest()
    chk = base64.b32encode(digest[:5]).decode()
    return head + chk + rnd(AN, 8)


def glpat_routable():
    payload = rnd(AN + "_-", 32)
    head = "glpat-" + payload + ".01." + b36(len(payload), 2)
    return head + b36(zlib.crc32(head.encode()), 7)


def b64url(b):
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def make_jwt(claims=None, alg="HS256"):
    h = b64url(json.dumps({"alg": alg, "typ": "JWT"}, separators=(",", ":")).encode())
    p = b64url(json.dumps(claims or {"sub": "user-" + rnd(DG, 6), "iat": 1763000000 + R.randrange(10**6)},
                          separators=(",", ":")).encode())
    return f"{h}.{p}.{rnd(B64U, 43)}"


def bech32_polymod(values):
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if ((top >> i) & 1) else 0
    return chk


def bech32_encode(hrp, data_bytes):
    acc, bits, data = 0, 0, []
    for b in data_bytes:
        acc = (acc << 8) | b
        bits += 8
        while bits >= 5:
            bits -= 5
            data.append((acc >> bits) & 31)
    if bits:
        data.append((acc << (5 - bits)) & 31)
    hrp_exp = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    pm = bech32_polymod(hrp_exp + data + [0] * 6) ^ 1
    chk = [(pm >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH[d] for d in data + chk)


def randbytes(n):
    return bytes(R.randrange(256) for _ in range(n))


def b64std(n):
    return base64.b64encode(randbytes(n)).decode()


def pem_body(nbytes=600, width=64):
    b = base64.b64encode(b"\x30\x82" + randbytes(nbytes)).decode()
    return "\n".join(b[i:i + width] for i in range(0, len(b), width))


def uuid():
    h = rnd(HEX, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


RULES = []
CASES = []


def rule(id, kind, description, keywords, pattern, window, score, match, no_match, validator=None,
         group=None, min_entropy=None, ph=False, ci=False, context=None, case=None, direction=None):
    RULES.append(dict(id=id, kind=kind, description=description, keywords=keywords, pattern=pattern,
                      window=window, score=score, match=match, no_match=no_match, validator=validator,
                      group=group, min_entropy=min_entropy, ph=ph, ci=ci, context=context,
                      direction=direction))
    if case is not None:
        text, m = case
        CASES.append({"text": text, "expect": [{"category": "secret", "kind": kind, "match": m}]})


# A boundary that ends a token whose alphabet includes `-`: the token goes in group `secret`.
TAIL = r"(?:[^A-Za-z0-9_-]|$)"


def tok(id, kind, description, keywords, body, window, gen, *, score=0.95, validator=None, env="API_TOKEN",
        no_match=(), ph=True, open_tail=False, min_entropy=None, short=None):
    """A token recognised by its prefix. `body` is the regex of the token itself."""
    lead_in = r"(?:^|[^A-Za-z0-9+/])"
    if open_tail:
        lead = ""
        if body.startswith(lead_in):
            lead, body = lead_in, body[len(lead_in):]
        pattern = rf"{lead}(?P<secret>{body}){TAIL}"
        group = "secret"
    else:
        pattern = body
        group = "secret" if "(?P<secret>" in body else None
    t1, t2 = gen(), gen()
    match = [f"export {env}={t1}", f'{{"credential": "{t2}"}}']
    nm = list(no_match)
    if short:
        nm.append(f"the prefix alone is not a key: {short}")
    rule(id, kind, description, keywords, pattern, window, score, match, nm, validator=validator,
         group=group, min_entropy=min_entropy, ph=ph,
         case=(f"here is my key {t1} please keep it safe", t1))
    return t1


SEP = r"""["']?[ \t]*(?::=|=>|=|:)[ \t]*"""


def assign(id, kind, description, keywords, name, value, window, score, match, no_match, *,
           validator="credential_value", min_entropy=3.0, case=None):
    """`NAME = value` / `NAME: "value"` / `"name": "value"` with a provider-specific name."""
    pattern = rf"""(?i:{name})[A-Za-z0-9_.-]{{0,24}}{SEP}["'`]?(?P<secret>{value})(?:["'`\s,;&]|$)"""
    rule(id, kind, description, keywords, pattern, window, score, match, no_match, validator=validator,
         group="secret", min_entropy=min_entropy, ph=True, case=case)


# ---------------------------------------------------------------- cloud: AWS
akid = "AKIA" + rnd(B32, 16)
asid = "ASIA" + rnd(B32, 16)
rule("secrets.aws.access_key_id", "aws_access_key_id",
     "AWS access key ID: AKIA (long-term), ASIA (STS), ABIA, ACCA or A3T prefix and 16 base32 characters.",
     ["AKIA", "ASIA", "ABIA", "ACCA", "A3T"],
     r"\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b", 24, 0.9,
     [f"aws_access_key_id = {akid}", f"Use {asid} for the temporary session."],
     ["AKIAIOSFODNN7EXAMPLE", "AKIAXXXXXXXXXXXXXXXX", "The ASIAN markets opened higher.",
      "akia" + rnd(B32, 16).lower(), akid + "Q", "AKIA" + rnd(B32, 12)],
     ph=True, case=(f"my key id is {akid}", akid))

aws_secret = rnd(B64, 40)
aws_secret2 = rnd(B64, 40)
rule("secrets.aws.secret_access_key", "aws_secret_access_key",
     "AWS secret access key (40 base64 characters) assigned to aws_secret_access_key / SecretAccessKey.",
     ["access_key", "accesskey", "access-key", "secret_key", "secretkey", "secret-key"],
     r"""(?i:secret[_-]?access[_-]?key|aws[_-]?secret[_-]?key)["']?[ \t]*(?::=|=>|=|:)[ \t]*["']?(?P<secret>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)""",
     110, 0.95,
     [f"aws_secret_access_key = {aws_secret}", f'"SecretAccessKey": "{aws_secret2}",'],
     ["aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      "aws_secret_access_key = ${AWS_SECRET_ACCESS_KEY}",
      "aws_secret_access_key = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      "aws_secret_access_key = " + rnd(B64, 30)],
     group="secret", min_entropy=4.0, ph=True,
     case=(f"[default]\naws_access_key_id = {akid}\naws_secret_access_key = {aws_secret}\n", aws_secret))

pair_secret = rnd(B64, 40)
rule("secrets.aws.credentials_pair", "aws_secret_access_key",
     "AWS key pair: an access key ID followed closely by its 40-character secret (CSV export, JSON, env).",
     ["AKIA", "ASIA"],
     r"""\b(?:AKIA|ASIA)[A-Z2-7]{16}\b[\s\S]{0,100}?(?:^|[^A-Za-z0-9/+])(?P<secret>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)""",
     170, 0.95,
     [f"Access key ID,Secret access key\n{akid},{pair_secret}",
      f'{{"AccessKeyId": "{asid}", "SecretAccessKey": "{rnd(B64, 40)}"}}'],
     [f"{akid} commit 3f786850e387550fdab836ed7e6dc881de23001b",
      f"{akid} and then a very long prose sentence follows here without any secret at all in it"],
     group="secret", min_entropy=4.2, ph=True)

sess = "IQoJb3JpZ2luX2VjE" + rnd(B64, 300)
rule("secrets.aws.session_token", "aws_session_token",
     "AWS STS session token assigned to aws_session_token / SessionToken / X-Amz-Security-Token.",
     ["session_token", "sessiontoken", "session-token", "security-token", "security_token"],
     r"""(?i:aws[_-]?session[_-]?token|session[_-]?token|x-amz-security-token)["']?[ \t]*(?::=|=>|=|:)[ \t]*["']?(?P<secret>[A-Za-z0-9/+]{100,1500}={0,2})(?:[^A-Za-z0-9/+=]|$)""",
     1560, 0.9,
     [f"aws_session_token = {sess}", f'"SessionToken": "FwoGZXIvYXdzE{rnd(B64, 200)}"'],
     ["aws_session_token = ${AWS_SESSION_TOKEN}", "session_token = " + rnd(B64, 40)],
     group="secret", min_entropy=4.5, ph=True)

mws = f"amzn.mws.{uuid()}"
tok("secrets.aws.mws_auth_token", "aws_mws_auth_token", "Amazon Marketplace Web Service auth token (amzn.mws. + UUID).",
    ["amzn.mws."], r"\bamzn\.mws\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", 50,
    lambda: f"amzn.mws.{uuid()}", env="MWS_AUTH_TOKEN", short="amzn.mws.1234")

tok("secrets.aws.bedrock_api_key", "aws_bedrock_api_key",
    "Amazon Bedrock long-term API key: ABSK + base64 of `BedrockAPIKey-...`.",
    ["ABSKQmVkcm9ja0FQSUtleS"], r"\bABSKQmVkcm9ja0FQSUtleS[A-Za-z0-9+/]{40,400}={0,2}", 420,
    lambda: "ABSK" + base64.b64encode(b"BedrockAPIKey-" + rnd(ANL, 4).encode() + b"-at-" + rnd(DG, 12).encode() + b":" + rnd(B64, 40).encode()).decode(),
    env="AWS_BEARER_TOKEN_BEDROCK", short="ABSKQmVkcm9ja0FQSUtleS0...")

tok("secrets.aws.bedrock_short_term_key", "aws_bedrock_api_key",
    "Amazon Bedrock short-term API key: bedrock-api-key- + base64 of a presigned bedrock.amazonaws.com URL.",
    ["bedrock-api-key-"], r"\bbedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t[A-Za-z0-9+/%=&]{40,3000}", 3100,
    lambda: "bedrock-api-key-" + base64.b64encode(b"bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Credential=" + rnd(ANU, 20).encode() + b"&X-Amz-Signature=" + rnd(HEX, 64).encode()).decode(),
    env="AWS_BEARER_TOKEN_BEDROCK", short="bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t")

# ---------------------------------------------------------------- cloud: Google
tok("secrets.google.api_key", "google_api_key", "Google API key (GCP, Firebase, Gemini, Maps): AIza + 35 characters.",
    ["AIza"], r"\bAIza[0-9A-Za-z_-]{35}", 45, lambda: "AIza" + rnd(B64U, 35), env="GOOGLE_API_KEY",
    open_tail=True, short="AIzaSy", no_match=["AIzaSyXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"])

tok("secrets.google.oauth_client_secret", "google_oauth_client_secret", "Google OAuth client secret: GOCSPX- + 28 characters.",
    ["GOCSPX-"], r"\bGOCSPX-[A-Za-z0-9_-]{28}", 40, lambda: "GOCSPX-" + rnd(B64U, 28), env="GOOGLE_CLIENT_SECRET",
    open_tail=True, short="GOCSPX-abc")

tok("secrets.google.oauth_access_token", "google_oauth_access_token", "Google OAuth 2.0 access token (ya29.).",
    ["ya29."], r"\bya29\.[0-9A-Za-z_-]{30,1024}", 1040, lambda: "ya29.a0" + rnd(B64U, 160), env="GOOGLE_ACCESS_TOKEN",
    open_tail=True, min_entropy=3.5, short="ya29.abc")

tok("secrets.google.oauth_refresh_token", "google_oauth_refresh_token", "Google OAuth 2.0 refresh token (1//0 + base64url).",
    ["1//0"], r"\b1//0[0-9A-Za-z_-]{40,512}", 520, lambda: "1//0" + rnd("abcdefg", 1) + rnd(B64U, 98), env="GOOGLE_REFRESH_TOKEN",
    open_tail=True, min_entropy=3.5, short="1//0abc")

sa_id = rnd(HEX, 40)
rule("secrets.google.service_account_key", "gcp_service_account",
     "GCP service-account JSON key file: the private_key_id of a \"type\": \"service_account\" file (its private_key is reported by secrets.private_key.pem).",
     ["private_key_id"],
     r'''"private_key_id"[ \t]*:[ \t]*"(?P<secret>[0-9a-f]{40})"''', 60, 0.95,
     [f'{{"type": "service_account", "project_id": "demo-project", "private_key_id": "{sa_id}", "private_key": "..."}}'],
     [f'{{"type": "authorized_user", "private_key_id": "{rnd(HEX, 40)}"}}',
      '{"type": "service_account", "private_key_id": "0000000000000000000000000000000000000000"}'],
     group="secret", ph=True, min_entropy=3.0,
     context={"words": ["service_account"], "distance": 200, "required": True, "boost": 0.0})

tok("secrets.google.fcm_server_key", "firebase_cloud_messaging_key", "Firebase Cloud Messaging legacy server key (AAAA...:APA91b...).",
    [":APA91b"], r"\bAAAA[A-Za-z0-9_-]{7}:APA91b[A-Za-z0-9_-]{134}", 160,
    lambda: "AAAA" + rnd(B64U, 7) + ":APA91b" + rnd(B64U, 134), env="FCM_SERVER_KEY", open_tail=True,
    short="AAAAabcdefg:APA91b")

# ---------------------------------------------------------------- cloud: Azure
acct_key = b64std(64)
rule("secrets.azure.storage_account_key", "azure_storage_account_key",
     "Azure Storage / Cosmos DB account key (AccountKey=, 64 bytes in base64) in a connection string.",
     ["AccountKey"], r"(?i:AccountKey)[ \t]*=[ \t]*(?P<secret>[A-Za-z0-9+/]{86}==)", 110, 0.95,
     [f"DefaultEndpointsProtocol=https;AccountName=vallumdemo;AccountKey={acct_key};EndpointSuffix=core.windows.net",
      f"AccountEndpoint=https://demo.documents.azure.com:443/;AccountKey={b64std(64)};"],
     ["AccountKey=" + "A" * 86 + "==", "AccountKey=" + b64std(32), "AccountKey=<your-account-key>"],
     group="secret", validator="base64_64_bytes", ph=True,
     case=(f"conn = \"DefaultEndpointsProtocol=https;AccountName=vallumdemo;AccountKey={acct_key};EndpointSuffix=core.windows.net\"", acct_key))

tok_sak = b64std(32)
rule("secrets.azure.shared_access_key", "azure_shared_access_key",
     "Azure Service Bus / Event Hubs / IoT Hub shared access key (SharedAccessKey=, 32 bytes in base64).",
     ["SharedAccessKey"], r"(?i:SharedAccessKey)[ \t]*=[ \t]*(?P<secret>[A-Za-z0-9+/]{43}=)", 70, 0.95,
     [f"Endpoint=sb://demo.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={tok_sak}"],
     ["SharedAccessKeyName=RootManageSharedAccessKey;", "SharedAccessKey=" + b64std(16)],
     group="secret", validator="base64_32_bytes", ph=True)

rule("secrets.azure.signalr_access_key", "azure_signalr_access_key",
     "Azure SignalR / Web PubSub connection string access key (;AccessKey=, 32 bytes in base64).",
     [";AccessKey="], r"(?i:;AccessKey)[ \t]*=[ \t]*(?P<secret>[A-Za-z0-9+/]{43}=)", 70, 0.95,
     [f"Endpoint=https://demo.service.signalr.net;AccessKey={b64std(32)};Version=1.0;"],
     [";AccessKey=" + b64std(20) + ";", "Endpoint=https://demo.service.signalr.net;AccessKey=<key>;"],
     group="secret", validator="base64_32_bytes", ph=True)

sas_sig = base64.b64encode(randbytes(32)).decode().replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
rule("secrets.azure.sas_token", "azure_sas_token",
     "Azure shared access signature: a URL query with sv=<date> and sig=<base64 HMAC>.",
     ["sig="],
     r"[?&]sv=[0-9]{4}-[0-9]{2}-[0-9]{2}&[^\s\"'<>]{0,400}?[?&]sig=(?P<secret>(?:[A-Za-z0-9+/]|%2[BbFf]){40,90}(?:=|%3[Dd])?)",
     450, 0.9,
     [f"https://demo.blob.core.windows.net/c/f.txt?sv=2022-11-02&ss=b&srt=o&sp=r&se=2026-01-01T00:00:00Z&spr=https&sig={sas_sig}"],
     ["https://example.org/page?sig=" + rnd(AN, 12), "https://x.blob.core.windows.net/?sv=2022-11-02&sig=<signature>"],
     group="secret", ph=True, min_entropy=3.5)

rule("secrets.azure.ad_client_secret", "azure_client_secret",
     "Microsoft Entra ID (Azure AD) application client secret: 3 characters, a digit, Q~, then 31-34 characters.",
     ["Q~"], r"(?:^|[^A-Za-z0-9_~.-])(?P<secret>[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34})(?:[^A-Za-z0-9_~.-]|$)",
     45, 0.9,
     [f"AZURE_CLIENT_SECRET={rnd(AN, 3)}8Q~{rnd(AN + '_~.-', 34)}", f'"clientSecret": "{rnd(AN, 3)}7Q~{rnd(AN, 31)}"'],
     ["Q~ is not a secret", f"abc8Q~{rnd(AN, 10)}"],
     group="secret", ph=True, min_entropy=3.0)

azdo_example = "FBdFol081crwkIHWJH2yiqDDyrFjVSi7HWl22hN2hTYfsB8NlGDpJQQJ77BAACAAAAAAAAAAAAASAZDOBucTj"
tok("secrets.azure.devops_pat", "azure_devops_pat",
    "Azure DevOps personal access token (2024 format, 84 characters, JQQJ signature and AZDO marker).",
    ["AZDO"], r"\b[A-Za-z0-9]{52}JQQJ[A-Za-z0-9]{20}AZDO[A-Za-z0-9]{4}\b", 90,
    lambda: rnd(AN, 52) + "JQQJ99" + rnd(AN, 4) + "AAAAAAAAAA" + rnd(AN, 4) + "AZDO" + rnd(AN, 4),
    env="AZURE_DEVOPS_PAT", ph=False, min_entropy=3.0, short="AZDO1234")

rule("secrets.azure.app_configuration", "azure_app_configuration_secret",
     "Azure App Configuration connection string secret (Endpoint=https://<name>.azconfig.io;Id=...;Secret=...).",
     [".azconfig.io"],
     r"(?i:Endpoint)=https://[A-Za-z0-9-]{1,64}\.azconfig\.io;Id=[^;\s]{2,64};Secret=(?P<secret>[A-Za-z0-9+/]{43}=)",
     200, 0.95,
     [f"Endpoint=https://vallum-demo.azconfig.io;Id={rnd(AN, 4)}-l9-s0:{rnd(AN, 20)};Secret={b64std(32)}"],
     ["Endpoint=https://vallum-demo.azconfig.io;Id=abc;Secret=<secret>"],
     group="secret", ph=True)

# ---------------------------------------------------------------- code hosts: GitHub
for pfx, name, kdesc in [("ghp_", "pat_classic", "personal access token (classic)"),
                         ("gho_", "oauth_token", "OAuth access token"),
                         ("ghu_", "user_to_server_token", "GitHub App user-to-server token"),
                         ("ghs_", "installation_token", "GitHub App installation (server-to-server) token")]:
    good = gh(pfx)
    tok(f"secrets.github.{name}", "github_token",
        f"GitHub {kdesc}: {pfx} + 30 base62 characters + base62 CRC-32 checksum.",
        [pfx], rf"\b{pfx}[A-Za-z0-9]{{36}}\b", 40, lambda p=pfx: gh(p), score=0.99,
        validator="github_token_checksum", env="GITHUB_TOKEN",
        no_match=[broken(good), pfx + "16C7e42F292c6912E7710c838347Ae178B4a", good + "x", pfx + "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"],
        short=pfx + "abc")

good_ghr = gh("ghr_", 70)
tok("secrets.github.refresh_token", "github_token",
    "GitHub refresh token: ghr_ + 70 base62 characters + base62 CRC-32 checksum.",
    ["ghr_"], r"\bghr_[A-Za-z0-9]{76}\b", 80, lambda: gh("ghr_", 70), score=0.99,
    validator="github_token_checksum", env="GITHUB_REFRESH_TOKEN",
    no_match=[broken(good_ghr), "ghr_" + rnd(AN, 36)], short="ghr_abc")

fg = fine_grained()
tok("secrets.github.fine_grained_pat", "github_token",
    "GitHub fine-grained personal access token: github_pat_ + 22 + _ + 59 characters, with a SHA-256 check.",
    ["github_pat_"], r"\bgithub_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}\b", 95, fine_grained, score=0.99,
    validator="github_fine_grained_pat", env="GITHUB_TOKEN",
    no_match=[fg[:-16] + "AAAAAAAA" + fg[-8:], "github_pat_" + rnd(AN, 22) + "_" + rnd(AN, 59)], short="github_pat_11ABC")

tok("secrets.github.installation_token_jwt", "github_token",
    "GitHub App installation token in the stateless format: ghs_<installation id>_<JWT>.",
    ["ghs_"], r"\bghs_[0-9]{1,12}_eyJ[A-Za-z0-9_-]{10,600}\.[A-Za-z0-9_-]{10,1500}\.[A-Za-z0-9_-]{10,700}", 2900,
    lambda: "ghs_" + rnd(DG, 6) + "_" + make_jwt({"iss": rnd(DG, 6), "iat": 1763000000}, "RS256"),
    env="GITHUB_TOKEN", open_tail=True, short="ghs_123_eyJ")

# ---------------------------------------------------------------- code hosts: GitLab
glr = glpat_routable()
tok("secrets.gitlab.pat_routable", "gitlab_token",
    "GitLab personal access token, routable format: glpat-<payload>.<version>.<length><base36 CRC-32>.",
    ["glpat-"], r"\bglpat-[0-9A-Za-z_-]{27,300}\.[0-9a-z]{2}\.[0-9a-z]{9}\b", 330, glpat_routable, score=0.99,
    validator="gitlab_routable_token", env="GITLAB_TOKEN",
    no_match=[glr[:-1] + ("0" if glr[-1] != "0" else "1")], short="glpat-abc")

for pfx, name, n, desc, alpha in [
        ("glpat-", "pat", 20, "personal access token (legacy 20-character form)", B64U),
        ("gldt-", "deploy_token", 20, "deploy token", B64U),
        ("glrt-", "runner_token", 20, "runner authentication token", B64U),
        ("glcbt-", "ci_job_token", None, "CI/CD job token", B64U),
        ("glptt-", "pipeline_trigger_token", 40, "pipeline trigger token (40 hex)", HEX),
        ("glft-", "feed_token", 20, "feed token", B64U),
        ("glimt-", "incoming_mail_token", 25, "incoming mail token", B64U),
        ("glagent-", "agent_token", 50, "agent for Kubernetes token", B64U),
        ("gloas-", "oauth_app_secret", 64, "OAuth application secret", B64U),
        ("glsoat-", "scim_token", 20, "SCIM OAuth token", B64U),
        ("glffct-", "feature_flag_client_token", 20, "feature flags client token", B64U)]:
    if pfx == "glcbt-":
        body = r"\bglcbt-[0-9a-zA-Z]{1,5}_[0-9a-zA-Z_-]{20}"
        gen = lambda: "glcbt-" + rnd(ANL, 2) + "_" + rnd(B64U, 20)
    elif alpha == HEX:
        body = rf"\b{pfx}[0-9a-f]{{{n}}}\b"
        gen = lambda p=pfx, k=n: p + rnd(HEX, k)
    else:
        body = rf"\b{pfx}[0-9A-Za-z_-]{{{n}}}"
        gen = lambda p=pfx, k=n: p + rnd(AN, k)
    tok(f"secrets.gitlab.{name}", "gitlab_token", f"GitLab {desc}: {pfx} prefix.", [pfx], body,
        (n or 30) + 12, gen, env="GITLAB_TOKEN", open_tail=alpha != HEX, min_entropy=3.0, short=pfx + "abc")

tok("secrets.gitlab.runner_registration_token", "gitlab_token",
    "GitLab runner registration token: GR1348941 + 20 characters.", ["GR1348941"],
    r"\bGR1348941[0-9A-Za-z_-]{20}", 32, lambda: "GR1348941" + rnd(AN, 20), env="RUNNER_TOKEN",
    open_tail=True, short="GR1348941abc")

tok("secrets.gitlab.runner_token_routable", "gitlab_token",
    "GitLab runner authentication token, routable format: glrt-t<n>_<payload>.<2><7>.", ["glrt-t"],
    r"\bglrt-t[0-9]_[0-9A-Za-z_-]{27,300}\.[0-9a-z]{2}[0-9a-z]{7}\b", 330,
    lambda: "glrt-t1_" + rnd(AN, 30) + "." + rnd(ANL, 9), env="RUNNER_TOKEN", short="glrt-t1_abc")

rule("secrets.gitlab.session_cookie", "gitlab_session_cookie", "GitLab session cookie (_gitlab_session=32 hex).",
     ["_gitlab_session="], r"_gitlab_session=(?P<secret>[0-9a-f]{32})\b", 50, 0.9,
     [f"Cookie: _gitlab_session={rnd(HEX, 32)}; path=/"], ["_gitlab_session=deleted", "_gitlab_session=" + rnd(HEX, 10)],
     group="secret", ph=True, min_entropy=3.0)

# ---------------------------------------------------------------- code hosts: others
tok("secrets.atlassian.api_token", "atlassian_api_token", "Atlassian (Jira, Confluence) API token: ATATT3 + 186 characters.",
    ["ATATT3"], r"\bATATT3[A-Za-z0-9_=-]{186}", 200, lambda: "ATATT3" + rnd(B64U, 178) + "=" + rnd(HEXU, 7),
    env="JIRA_API_TOKEN", open_tail=True, short="ATATT3xFfGF0")

tok("secrets.bitbucket.app_password", "bitbucket_app_password", "Bitbucket app password: ATBB + 32 characters.",
    ["ATBB"], r"\bATBB[A-Za-z0-9]{32}\b", 40, lambda: "ATBB" + rnd(AN, 32), env="BITBUCKET_APP_PASSWORD",
    score=0.9, short="ATBB123")

tok("secrets.sourcegraph.access_token", "sourcegraph_access_token", "Sourcegraph access token: sgp_ + (16 hex or local) + _ + 40 hex.",
    ["sgp_"], r"\bsgp_(?:(?:[a-f0-9]{16}|local)_)?[a-f0-9]{40}\b", 65, lambda: "sgp_" + rnd(HEX, 16) + "_" + rnd(HEX, 40),
    env="SRC_ACCESS_TOKEN", short="sgp_abc")

# ---------------------------------------------------------------- CI/CD, infrastructure, SaaS developer tools
simple = [
    # id, kind, description, keyword, body regex, generator, env, open_tail
    ("circleci.personal_token", "circleci_token", "CircleCI personal API token: CCIPAT_ + id + _ + 40 hex.", "CCIPAT_",
     r"\bCCIPAT_[A-Za-z0-9]{20,24}_[a-f0-9]{40}\b", lambda: "CCIPAT_" + rnd(AN, 22) + "_" + rnd(HEX, 40), "CIRCLE_TOKEN", False),
    ("circleci.project_token", "circleci_token", "CircleCI project API token: CCIPRJ_ + id + _ + 40 hex.", "CCIPRJ_",
     r"\bCCIPRJ_[A-Za-z0-9]{20,24}_[a-f0-9]{40}\b", lambda: "CCIPRJ_" + rnd(AN, 22) + "_" + rnd(HEX, 40), "CIRCLE_TOKEN", False),
    ("buildkite.api_token", "buildkite_token", "Buildkite user API access token: bkua_ + 40 hex.", "bkua_",
     r"\bbkua_[a-f0-9]{40}\b", lambda: "bkua_" + rnd(HEX, 40), "BUILDKITE_API_TOKEN", False),
    ("pulumi.access_token", "pulumi_access_token", "Pulumi access token: pul- + 40 hex.", "pul-",
     r"\bpul-[a-f0-9]{40}\b", lambda: "pul-" + rnd(HEX, 40), "PULUMI_ACCESS_TOKEN", False),
    ("terraform.api_token", "terraform_cloud_token", "Terraform Cloud / HCP user or team token: 14 characters .atlasv1. 60-70 characters.", ".atlasv1.",
     r"\b[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}", lambda: rnd(AN, 14) + ".atlasv1." + rnd(B64U, 67), "TFE_TOKEN", True),
    ("hashicorp.vault_service_token", "vault_token", "HashiCorp Vault service token: hvs. + 90-120 characters.", "hvs.",
     r"\bhvs\.[A-Za-z0-9_-]{90,120}", lambda: "hvs.CAESI" + rnd(B64U, 96), "VAULT_TOKEN", True),
    ("hashicorp.vault_batch_token", "vault_token", "HashiCorp Vault batch token: hvb. + 138-300 characters.", "hvb.",
     r"\bhvb\.[A-Za-z0-9_-]{138,300}", lambda: "hvb.AAAAAQ" + rnd(B64U, 150), "VAULT_TOKEN", True),
    ("octopus.api_key", "octopus_deploy_api_key", "Octopus Deploy API key: API- + 26 upper-case characters.", "API-",
     r"\bAPI-[A-Z0-9]{26}\b", lambda: "API-" + rnd(ANU, 26), "OCTOPUS_API_KEY", False),
    ("jfrog.api_key", "jfrog_api_key", "JFrog Artifactory API key: AKCp + 69 characters.", "AKCp",
     r"\bAKCp[A-Za-z0-9]{69}\b", lambda: "AKCp" + rnd(AN, 69), "ARTIFACTORY_API_KEY", False),
    ("jfrog.reference_token", "jfrog_access_token", "JFrog reference token: base64 of `reftkn:01:` + 49 characters.", "cmVmdGtuOjAxOj",
     r"\bcmVmdGtuOjAxOj[A-Za-z0-9]{50}\b", lambda: "cmVmdGtuOjAxOj" + rnd(AN, 50), "JFROG_ACCESS_TOKEN", False),
    ("sonar.token", "sonar_token", "SonarQube / SonarCloud token: squ_ (user), sqp_ (project), sqa_ (global analysis) + 40 hex.", None,
     r"\bsq[pua]_[a-f0-9]{40}\b", lambda: R.choice(["squ_", "sqp_", "sqa_"]) + rnd(HEX, 40), "SONAR_TOKEN", False),
    ("harness.access_token", "harness_access_token", "Harness personal or service-account token: pat.<22>.<24 hex>.<20>.", "pat.",
     r"\bpat\.[A-Za-z0-9_-]{22}\.[a-f0-9]{24}\.[A-Za-z0-9]{20}\b", lambda: "pat." + rnd(AN, 22) + "." + rnd(HEX, 24) + "." + rnd(AN, 20), "HARNESS_TOKEN", False),
    ("docker.access_token", "docker_hub_token", "Docker Hub personal or organisation access token: dckr_pat_ / dckr_oat_ + 27 characters.", None,
     r"\bdckr_(?:pat|oat)_[A-Za-z0-9_-]{27}", lambda: "dckr_pat_" + rnd(AN, 27), "DOCKERHUB_TOKEN", True),
    ("flyio.access_token", "flyio_token", "Fly.io access token: fo1_ + 43 characters.", "fo1_",
     r"\bfo1_[A-Za-z0-9_-]{43}", lambda: "fo1_" + rnd(AN, 43), "FLY_API_TOKEN", True),
    ("flyio.macaroon_token", "flyio_token", "Fly.io macaroon token: fm1a_ / fm1r_ / fm2_ + base64.", None,
     r"\bfm(?:1[ar]|2)_[A-Za-z0-9+/]{100,2000}={0,3}", lambda: "fm2_" + rnd(B64, 160), "FLY_API_TOKEN", False),
    ("heroku.api_key_v2", "heroku_api_key", "Heroku API key (2024 format): HRKU-AA + 58 characters.", "HRKU-",
     r"\bHRKU-AA[0-9A-Za-z_-]{58}", lambda: "HRKU-AA" + rnd(AN, 58), "HEROKU_API_KEY", True),
    ("digitalocean.pat", "digitalocean_token", "DigitalOcean personal access token: dop_v1_ + 64 hex.", "dop_v1_",
     r"\bdop_v1_[a-f0-9]{64}\b", lambda: "dop_v1_" + rnd(HEX, 64), "DIGITALOCEAN_TOKEN", False),
    ("digitalocean.oauth_token", "digitalocean_token", "DigitalOcean OAuth access token: doo_v1_ + 64 hex.", "doo_v1_",
     r"\bdoo_v1_[a-f0-9]{64}\b", lambda: "doo_v1_" + rnd(HEX, 64), "DIGITALOCEAN_TOKEN", False),
    ("digitalocean.refresh_token", "digitalocean_token", "DigitalOcean OAuth refresh token: dor_v1_ + 64 hex.", "dor_v1_",
     r"\bdor_v1_[a-f0-9]{64}\b", lambda: "dor_v1_" + rnd(HEX, 64), "DIGITALOCEAN_TOKEN", False),
    ("alibaba.access_key_id", "alibaba_access_key_id", "Alibaba Cloud AccessKey ID: LTAI + 12-20 characters.", "LTAI",
     r"\bLTAI[A-Za-z0-9]{12,20}\b", lambda: "LTAI" + rnd(AN, 20), "ALIBABA_CLOUD_ACCESS_KEY_ID", False),
    ("tencent.secret_id", "tencent_secret_id", "Tencent Cloud SecretId: AKID + 32 characters.", "AKID",
     r"\bAKID[A-Za-z0-9]{32}\b", lambda: "AKID" + rnd(AN, 32), "TENCENTCLOUD_SECRET_ID", False),
    ("scaleway.access_key", "scaleway_access_key", "Scaleway access key: SCW + 17 upper-case characters.", "SCW",
     r"\bSCW[A-Z0-9]{17}\b", lambda: "SCW" + rnd(ANU, 17), "SCW_ACCESS_KEY", False),
    ("cloudflare.origin_ca_key", "cloudflare_origin_ca_key", "Cloudflare Origin CA key: v1.0- + 24 hex + - + 146 hex.", "v1.0-",
     r"\bv1\.0-[a-f0-9]{24}-[a-f0-9]{146}\b", lambda: "v1.0-" + rnd(HEX, 24) + "-" + rnd(HEX, 146), "CF_ORIGIN_CA_KEY", False),
    ("databricks.token", "databricks_token", "Databricks personal access token: dapi + 32 hex (optional -N suffix).", "dapi",
     r"\bdapi[a-f0-9]{32}(?:-[0-9])?\b", lambda: "dapi" + rnd(HEX, 32), "DATABRICKS_TOKEN", False),
    ("grafana.cloud_token", "grafana_token", "Grafana Cloud access policy / API token: glc_ + base64.", "glc_",
     r"\bglc_[A-Za-z0-9+/]{32,400}={0,3}", lambda: "glc_" + base64.b64encode(json.dumps({"o": rnd(DG, 6), "n": "stack-" + rnd(DG, 6) + "-hm-write", "k": rnd(AN, 24), "m": {"r": "prod-us-east-0"}}).encode()).decode(), "GRAFANA_CLOUD_TOKEN", False),
    ("grafana.service_account_token", "grafana_token", "Grafana service account token: glsa_ + 32 + _ + 8 hex.", "glsa_",
     r"\bglsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}\b", lambda: "glsa_" + rnd(AN, 32) + "_" + rnd(HEX, 8), "GRAFANA_TOKEN", False),
    ("grafana.api_key", "grafana_token", "Grafana (legacy) API key: base64 JSON starting eyJrIjoi.", "eyJrIjoi",
     r"\beyJrIjoi[A-Za-z0-9]{70,400}={0,3}", lambda: "eyJrIjoi" + rnd(AN, 100), "GRAFANA_API_KEY", False),
    ("newrelic.user_api_key", "newrelic_api_key", "New Relic user API key: NRAK- + 27 upper-case characters.", "NRAK-",
     r"\bNRAK-[A-Z0-9]{27}\b", lambda: "NRAK-" + rnd(ANU, 27), "NEW_RELIC_API_KEY", False),
    ("newrelic.insert_key", "newrelic_api_key", "New Relic insights insert key: NRII- + 32 characters.", "NRII-",
     r"\bNRII-[A-Za-z0-9_-]{32}", lambda: "NRII-" + rnd(AN, 32), "NEW_RELIC_INSERT_KEY", True),
    ("newrelic.license_key", "newrelic_license_key", "New Relic ingest license key: 36 hex + NRAL.", "NRAL",
     r"\b[a-f0-9]{36}NRAL\b", lambda: rnd(HEX, 36) + "NRAL", "NEW_RELIC_LICENSE_KEY", False),
    ("newrelic.browser_key", "newrelic_api_key", "New Relic browser ingest key: NRJS- + 19 hex.", "NRJS-",
     r"\bNRJS-[a-f0-9]{19}\b", lambda: "NRJS-" + rnd(HEX, 19), "NEW_RELIC_BROWSER_KEY", False),
    ("sentry.user_token", "sentry_token", "Sentry user auth token: sntryu_ + 64 hex.", "sntryu_",
     r"\bsntryu_[a-f0-9]{64}\b", lambda: "sntryu_" + rnd(HEX, 64), "SENTRY_AUTH_TOKEN", False),
    ("sentry.org_token", "sentry_token", "Sentry organisation auth token: sntrys_ + base64 JSON + _ + 43-character secret.", "sntrys_",
     r"\bsntrys_eyJ[A-Za-z0-9+/=]{40,800}_[A-Za-z0-9+/]{43}", lambda: "sntrys_" + base64.b64encode(json.dumps({"iat": 1763000000.5, "url": "https://sentry.io", "region_url": "https://us.sentry.io", "org": "vallum"}).encode()).decode() + "_" + rnd(AN, 43), "SENTRY_AUTH_TOKEN", False),
    ("planetscale.api_token", "planetscale_token", "PlanetScale service token: pscale_tkn_ + 32-64 characters.", "pscale_tkn_",
     r"\bpscale_tkn_[A-Za-z0-9_=.-]{32,64}", lambda: "pscale_tkn_" + rnd(AN, 43), "PLANETSCALE_SERVICE_TOKEN", True),
    ("planetscale.oauth_token", "planetscale_token", "PlanetScale OAuth token: pscale_oauth_ + 32-64 characters.", "pscale_oauth_",
     r"\bpscale_oauth_[A-Za-z0-9_=.-]{32,64}", lambda: "pscale_oauth_" + rnd(AN, 43), "PLANETSCALE_TOKEN", True),
    ("planetscale.password", "planetscale_password", "PlanetScale database password: pscale_pw_ + 32-64 characters.", "pscale_pw_",
     r"\bpscale_pw_[A-Za-z0-9_=.-]{32,64}", lambda: "pscale_pw_" + rnd(AN, 43), "DATABASE_PASSWORD", True),
    ("supabase.access_token", "supabase_token", "Supabase personal access token: sbp_ + 40 hex.", "sbp_",
     r"\bsbp_[a-f0-9]{40}\b", lambda: "sbp_" + rnd(HEX, 40), "SUPABASE_ACCESS_TOKEN", False),
    ("supabase.secret_key", "supabase_secret_key", "Supabase secret API key: sb_secret_ + 20-64 characters.", "sb_secret_",
     r"\bsb_secret_[A-Za-z0-9_-]{20,64}", lambda: "sb_secret_" + rnd(AN, 31), "SUPABASE_SECRET_KEY", True),
    ("prefect.api_key", "prefect_api_key", "Prefect Cloud API key: pnu_ + 36 characters.", "pnu_",
     r"\bpnu_[A-Za-z0-9]{36}\b", lambda: "pnu_" + rnd(AN, 36), "PREFECT_API_KEY", False),
    ("postman.api_key", "postman_api_key", "Postman API key: PMAK- + 24 hex + - + 34 hex.", "PMAK-",
     r"\bPMAK-[a-f0-9]{24}-[a-f0-9]{34}\b", lambda: "PMAK-" + rnd(HEX, 24) + "-" + rnd(HEX, 34), "POSTMAN_API_KEY", False),
    ("readme.api_key", "readme_api_key", "ReadMe API key: rdme_ + 70 lower-case characters.", "rdme_",
     r"\brdme_[a-z0-9]{70}\b", lambda: "rdme_" + rnd(ANL, 70), "README_API_KEY", False),
    ("figma.token", "figma_token", "Figma personal access token: figd_ + 40 characters.", "figd_",
     r"\bfigd_[A-Za-z0-9_-]{40}", lambda: "figd_" + rnd(B64U, 40), "FIGMA_TOKEN", True),
    ("linear.api_key", "linear_api_key", "Linear personal API key: lin_api_ + 40 characters.", "lin_api_",
     r"\blin_api_[A-Za-z0-9]{40}\b", lambda: "lin_api_" + rnd(AN, 40), "LINEAR_API_KEY", False),
    ("linear.oauth_token", "linear_api_key", "Linear OAuth access token: lin_oauth_ + 64 hex.", "lin_oauth_",
     r"\blin_oauth_[a-f0-9]{64}\b", lambda: "lin_oauth_" + rnd(HEX, 64), "LINEAR_TOKEN", False),
    ("notion.token", "notion_token", "Notion integration token: ntn_ + 11 digits + 35 characters.", "ntn_",
     r"\bntn_[0-9]{11}[A-Za-z0-9]{35}\b", lambda: "ntn_" + rnd(DG, 11) + rnd(AN, 35), "NOTION_TOKEN", False),
    ("notion.legacy_token", "notion_token", "Notion internal integration token (legacy): secret_ + 43 characters.", "secret_",
     r"\bsecret_[A-Za-z0-9]{43}\b", lambda: "secret_" + rnd(AN, 43), "NOTION_TOKEN", False),
    ("mapbox.secret_token", "mapbox_secret_token", "Mapbox secret access token: sk.eyJ... (pk. tokens are public).", "sk.eyJ",
     r"\bsk\.eyJ[A-Za-z0-9_-]{20,400}\.[A-Za-z0-9_-]{20,64}", lambda: "sk." + b64url(json.dumps({"u": "vallum", "a": rnd(ANL, 25)}).encode()) + "." + rnd(B64U, 22), "MAPBOX_SECRET_TOKEN", True),
    ("contentful.pat", "contentful_token", "Contentful personal access token: CFPAT- + 43 characters.", "CFPAT-",
     r"\bCFPAT-[A-Za-z0-9_-]{43}", lambda: "CFPAT-" + rnd(AN, 43), "CONTENTFUL_MANAGEMENT_TOKEN", True),
    ("dynatrace.token", "dynatrace_token", "Dynatrace API token: dt0c01.<24>.<64>.", "dt0c01.",
     r"\bdt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64}\b", lambda: "dt0c01." + rnd(ANU, 24) + "." + rnd(ANU, 64), "DT_API_TOKEN", False),
    ("frameio.token", "frameio_token", "Frame.io developer token: fio-u- + 64 characters.", "fio-u-",
     r"\bfio-u-[A-Za-z0-9_=-]{64}", lambda: "fio-u-" + rnd(AN, 64), "FRAMEIO_TOKEN", True),
    ("typeform.token", "typeform_token", "Typeform personal access token: tfp_ + 59 characters.", "tfp_",
     r"\btfp_[A-Za-z0-9_.=-]{59}", lambda: "tfp_" + rnd(AN, 59), "TYPEFORM_TOKEN", True),
    ("adafruit.io_key", "adafruit_io_key", "Adafruit IO key: aio_ + 28 characters.", "aio_",
     r"\baio_[A-Za-z0-9]{28}\b", lambda: "aio_" + rnd(AN, 28), "ADAFRUIT_IO_KEY", False),
    ("onepassword.service_account_token", "onepassword_token", "1Password service account token: ops_eyJ + base64 JSON.", "ops_eyJ",
     r"\bops_eyJ[A-Za-z0-9+/]{250,2000}={0,3}", lambda: "ops_" + base64.b64encode(json.dumps({"signInAddress": "my.1password.com", "userAuth": {"method": "SRPg-4096", "alg": "PBES2g-HS256", "iterations": 650000, "salt": rnd(B64U, 22)}, "email": rnd(ANL, 10) + "@1passwordserviceaccounts.com", "srpX": rnd(HEX, 64), "muk": {"alg": "A256GCM", "ext": True, "k": rnd(B64U, 43), "key_ops": ["encrypt", "decrypt"], "kty": "oct", "kid": "mp"}}).encode()).decode(), "OP_SERVICE_ACCOUNT_TOKEN", False),
    ("onepassword.secret_key", "onepassword_secret_key", "1Password account Secret Key: A3- + six groups of upper-case characters.", "A3-",
     r"\bA3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}\b", lambda: f"A3-{rnd(ANU, 6)}-{rnd(ANU, 6)}-{rnd(ANU, 5)}-{rnd(ANU, 5)}-{rnd(ANU, 5)}-{rnd(ANU, 5)}", "OP_SECRET_KEY", False),
    ("openshift.user_token", "openshift_token", "OpenShift OAuth user token: sha256~ + 43 characters.", "sha256~",
     r"\bsha256~[A-Za-z0-9_-]{43}", lambda: "sha256~" + rnd(B64U, 43), "OPENSHIFT_TOKEN", True),
    ("maxmind.license_key", "maxmind_license_key", "MaxMind license key: 6 + _ + 29 characters + _mmk.", "_mmk",
     r"\b[A-Za-z0-9]{6}_[A-Za-z0-9]{29}_mmk\b", lambda: rnd(AN, 6) + "_" + rnd(AN, 29) + "_mmk", "MAXMIND_LICENSE_KEY", False),
    ("infracost.api_key", "infracost_api_key", "Infracost API key: ico- + 32 characters.", "ico-",
     r"\bico-[A-Za-z0-9]{32}\b", lambda: "ico-" + rnd(AN, 32), "INFRACOST_API_KEY", False),
    ("scalingo.api_token", "scalingo_api_token", "Scalingo API token: tk-us- + 48 characters.", "tk-us-",
     r"\btk-us-[A-Za-z0-9_-]{48}", lambda: "tk-us-" + rnd(AN, 48), "SCALINGO_API_TOKEN", True),
    ("yandex.oauth_token", "yandex_token", "Yandex OAuth token: y0_ + 55 characters.", "y0_",
     r"\by0_[A-Za-z0-9_-]{55}", lambda: "y0_" + rnd(AN, 55), "YANDEX_OAUTH_TOKEN", True),
    ("yandex.api_key", "yandex_api_key", "Yandex Cloud API key: AQVN + 35-38 characters.", "AQVN",
     r"\bAQVN[A-Za-z0-9_-]{35,38}", lambda: "AQVN" + rnd(AN, 36), "YC_API_KEY", True),
    ("deno.deploy_token", "deno_deploy_token", "Deno Deploy access token: ddp_ (personal) / ddo_ (organisation) + 36 characters.", None,
     r"\bdd[po]_[A-Za-z0-9]{36}\b", lambda: "ddp_" + rnd(AN, 36), "DENO_DEPLOY_TOKEN", False),
    ("tailscale.key", "tailscale_key", "Tailscale auth / API / OAuth client key: tskey-<type>-<id>-<secret>.", "tskey-",
     r"\btskey-(?:api|auth|client|scim|webhook)-[A-Za-z0-9]{6,20}-[A-Za-z0-9]{20,40}\b", lambda: "tskey-auth-k" + rnd(AN, 10) + "CNTRL-" + rnd(AN, 32), "TS_AUTHKEY", False),
    ("hubspot.private_app_token", "hubspot_token", "HubSpot private app access token: pat-na1- / pat-eu1- + UUID.", None,
     r"\bpat-(?:na|eu)[0-9]-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", lambda: "pat-na1-" + uuid(), "HUBSPOT_ACCESS_TOKEN", False),
    ("launchdarkly.sdk_key", "launchdarkly_key", "LaunchDarkly server-side SDK key: sdk- + UUID.", "sdk-",
     r"\bsdk-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", lambda: "sdk-" + uuid(), "LD_SDK_KEY", False),
    ("okta.api_token", "okta_api_token", "Okta API token in an SSWS authorization header.", "SSWS",
     None, None, None, None),
]
KW_OVERRIDE = {"sonar.token": ["squ_", "sqp_", "sqa_"], "docker.access_token": ["dckr_pat_", "dckr_oat_"],
               "flyio.macaroon_token": ["fm1a_", "fm1r_", "fm2_"], "deno.deploy_token": ["ddp_", "ddo_"],
               "hubspot.private_app_token": ["pat-na", "pat-eu"]}
WIN = {}
for (sid, kind, desc, kw, body, gen, env, open_tail) in simple:
    if body is None:
        continue
    sample = gen()
    window = len(sample) + 24 if "{" not in body or "," not in body else max(len(sample) + 24, 100)
    # Variable-length tokens: the window must cover the longest allowed token.
    import re as _re
    bounds = [int(m) for m in _re.findall(r"\{\d+,(\d+)\}", body)]
    if bounds:
        window = max(window, sum(bounds) + 40)
    keywords = KW_OVERRIDE.get(sid, [kw])
    score = 0.9 if sid in ("octopus.api_key", "launchdarkly.sdk_key", "scaleway.access_key",
                           "alibaba.access_key_id", "tencent.secret_id", "newrelic.browser_key",
                           "notion.legacy_token") else 0.95
    short_kw = keywords[0] + "abc"
    tok(f"secrets.{sid}", kind, desc, keywords, body, window, gen, env=env, open_tail=open_tail,
        score=score, short=short_kw, min_entropy=3.0)

okta = "00" + rnd(B64U, 40)
rule("secrets.okta.api_token", "okta_api_token", "Okta API token in an SSWS authorization header (SSWS 00 + 40 characters).",
     ["SSWS"], r"\bSSWS[ \t]+(?P<secret>00[A-Za-z0-9_-]{40})" + TAIL, 60, 0.95,
     [f"Authorization: SSWS {okta}", f'-H "Authorization: SSWS 00{rnd(AN, 40)}"'],
     ["Authorization: SSWS ${OKTA_API_TOKEN}", "SSWS 00abc"], group="secret", ph=True)

# ---------------------------------------------------------------- payment
for sid, kind, desc, kws, body, gen, env, open_tail in [
    ("stripe.secret_key", "stripe_secret_key", "Stripe secret API key: sk_live_ / sk_test_ + 24-247 characters.", ["sk_live_", "sk_test_"],
     r"\bsk_(?:live|test)_[A-Za-z0-9]{24,247}\b", lambda: "sk_live_51" + rnd(AN, 97), "STRIPE_SECRET_KEY", False),
    ("stripe.restricted_key", "stripe_restricted_key", "Stripe restricted API key: rk_live_ / rk_test_ + 24-247 characters.", ["rk_live_", "rk_test_"],
     r"\brk_(?:live|test)_[A-Za-z0-9]{24,247}\b", lambda: "rk_live_51" + rnd(AN, 97), "STRIPE_RESTRICTED_KEY", False),
    ("stripe.webhook_secret", "stripe_webhook_secret", "Stripe webhook signing secret: whsec_ + 32-64 characters.", ["whsec_"],
     r"\bwhsec_[A-Za-z0-9+/=]{32,64}", lambda: "whsec_" + rnd(AN, 32), "STRIPE_WEBHOOK_SECRET", False),
    ("square.access_token", "square_access_token", "Square production access token: EAAA + 60 characters.", ["EAAA"],
     r"(?:^|[^A-Za-z0-9+/])EAAA[A-Za-z0-9_-]{60}", lambda: "EAAA" + rnd(AN, 60), "SQUARE_ACCESS_TOKEN", True),
    ("square.legacy_access_token", "square_access_token", "Square (legacy) access token: sq0atp- + 22 characters.", ["sq0atp-"],
     r"\bsq0atp-[A-Za-z0-9_-]{22}", lambda: "sq0atp-" + rnd(AN, 22), "SQUARE_ACCESS_TOKEN", True),
    ("square.oauth_secret", "square_oauth_secret", "Square application OAuth secret: sq0csp- + 43 characters.", ["sq0csp-"],
     r"\bsq0csp-[A-Za-z0-9_-]{43}", lambda: "sq0csp-" + rnd(AN, 43), "SQUARE_OAUTH_SECRET", True),
    ("braintree.access_token", "braintree_access_token", "Braintree / PayPal access token: access_token$production$<16>$<32 hex>.", ["access_token$production$", "access_token$sandbox$"],
     r"access_token\$(?:production|sandbox)\$[a-z0-9]{16}\$[a-f0-9]{32}\b", lambda: "access_token$production$" + rnd(ANL, 16) + "$" + rnd(HEX, 32), "BRAINTREE_ACCESS_TOKEN", False),
    ("razorpay.key_id", "razorpay_key", "Razorpay API key ID: rzp_live_ / rzp_test_ + 14 characters.", ["rzp_live_", "rzp_test_"],
     r"\brzp_(?:live|test)_[A-Za-z0-9]{14}\b", lambda: "rzp_live_" + rnd(AN, 14), "RAZORPAY_KEY_ID", False),
    ("flutterwave.secret_key", "flutterwave_secret_key", "Flutterwave secret key: FLWSECK- / FLWSECK_TEST- + 32 hex + -X.", ["FLWSECK"],
     r"\bFLWSECK(?:_TEST)?-[a-h0-9]{32}-X\b", lambda: "FLWSECK-" + rnd(HEX, 32) + "-X", "FLW_SECRET_KEY", False),
    ("plaid.access_token", "plaid_access_token", "Plaid access token: access-<environment>-<UUID>.", ["access-sandbox-", "access-development-", "access-production-"],
     r"\baccess-(?:sandbox|development|production)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", lambda: "access-production-" + uuid(), "PLAID_ACCESS_TOKEN", False),
    ("shippo.api_token", "shippo_api_token", "Shippo API token: shippo_live_ / shippo_test_ + 40 hex.", ["shippo_"],
     r"\bshippo_(?:live|test)_[a-fA-F0-9]{40}\b", lambda: "shippo_live_" + rnd(HEX, 40), "SHIPPO_API_TOKEN", False),
    ("easypost.api_key", "easypost_api_key", "EasyPost API key: EZAK (production) / EZTK (test) + 54 characters.", ["EZAK", "EZTK"],
     r"\bEZ[AT]K[A-Za-z0-9]{54}\b", lambda: "EZAK" + rnd(AN, 54), "EASYPOST_API_KEY", False),
    ("duffel.api_token", "duffel_api_token", "Duffel API token: duffel_live_ / duffel_test_ + 43 characters.", ["duffel_"],
     r"\bduffel_(?:test|live)_[A-Za-z0-9_=-]{43}", lambda: "duffel_live_" + rnd(AN, 43), "DUFFEL_ACCESS_TOKEN", True),
    ("shopify.access_token", "shopify_token", "Shopify Admin API access token: shpat_ + 32 hex.", ["shpat_"],
     r"\bshpat_[a-fA-F0-9]{32}\b", lambda: "shpat_" + rnd(HEX, 32), "SHOPIFY_ACCESS_TOKEN", False),
    ("shopify.custom_app_token", "shopify_token", "Shopify custom app access token: shpca_ + 32 hex.", ["shpca_"],
     r"\bshpca_[a-fA-F0-9]{32}\b", lambda: "shpca_" + rnd(HEX, 32), "SHOPIFY_ACCESS_TOKEN", False),
    ("shopify.private_app_token", "shopify_token", "Shopify private app access token: shppa_ + 32 hex.", ["shppa_"],
     r"\bshppa_[a-fA-F0-9]{32}\b", lambda: "shppa_" + rnd(HEX, 32), "SHOPIFY_ACCESS_TOKEN", False),
    ("shopify.shared_secret", "shopify_shared_secret", "Shopify app shared secret: shpss_ + 32 hex.", ["shpss_"],
     r"\bshpss_[a-fA-F0-9]{32}\b", lambda: "shpss_" + rnd(HEX, 32), "SHOPIFY_API_SECRET", False),
]:
    bounds = [int(m) for m in __import__("re").findall(r"\{\d+,(\d+)\}", body)]
    sample = gen()
    window = max(len(sample) + 24, sum(bounds) + 40 if bounds else 0)
    tok(f"secrets.{sid}", kind, desc, kws, body, window, gen, env=env, open_tail=open_tail,
        score=0.9 if sid == "razorpay.key_id" else 0.95, short=kws[0] + "abc", min_entropy=3.0)

# ---------------------------------------------------------------- messaging
for sid, kind, desc, kws, body, gen, env, open_tail in [
    ("slack.bot_token", "slack_bot_token", "Slack bot token: xoxb-<team>-<bot>-<24 characters>.", ["xoxb-"],
     r"\bxoxb-[0-9]{10,13}-[0-9]{10,13}-[A-Za-z0-9]{24}\b", lambda: f"xoxb-{rnd(DG, 12)}-{rnd(DG, 13)}-{rnd(AN, 24)}", "SLACK_BOT_TOKEN", False),
    ("slack.user_token", "slack_user_token", "Slack user token: xoxp-<team>-<user>-<id>-<32 hex>.", ["xoxp-"],
     r"\bxoxp-[0-9]{10,13}-[0-9]{10,13}-[0-9]{10,13}-[a-f0-9]{32}\b", lambda: f"xoxp-{rnd(DG, 12)}-{rnd(DG, 12)}-{rnd(DG, 13)}-{rnd(HEX, 32)}", "SLACK_USER_TOKEN", False),
    ("slack.app_token", "slack_app_token", "Slack app-level token: xapp-<n>-<app id>-<number>-<64 hex>.", ["xapp-"],
     r"\bxapp-[0-9]-[A-Z0-9]{9,12}-[0-9]{10,13}-[a-f0-9]{64}\b", lambda: f"xapp-1-A{rnd(ANU, 10)}-{rnd(DG, 13)}-{rnd(HEX, 64)}", "SLACK_APP_TOKEN", False),
    ("slack.config_token", "slack_config_token", "Slack app configuration access token: xoxe.xoxp- / xoxe.xoxb- + 163-166 characters.", ["xoxe.xox"],
     r"\bxoxe\.xox[bp]-[0-9]-[A-Za-z0-9]{163,166}\b", lambda: f"xoxe.xoxp-1-{rnd(AN, 164)}", "SLACK_CONFIG_TOKEN", False),
    ("slack.config_refresh_token", "slack_config_token", "Slack app configuration refresh token: xoxe-<n>- + 146 characters.", ["xoxe-"],
     r"\bxoxe-[0-9]-[A-Za-z0-9]{146}\b", lambda: f"xoxe-1-{rnd(AN, 146)}", "SLACK_CONFIG_REFRESH_TOKEN", False),
    ("slack.legacy_token", "slack_legacy_token", "Slack legacy, workspace or refresh token: xoxa- / xoxr- / xoxo- / xoxs-.", ["xoxa-", "xoxr-", "xoxo-", "xoxs-"],
     r"\bxox[aors]-(?:[0-9]{1,13}-){0,3}[A-Za-z0-9]{8,64}\b", lambda: f"xoxs-{rnd(DG, 10)}-{rnd(DG, 11)}-{rnd(DG, 12)}-{rnd(HEX, 64)}", "SLACK_TOKEN", False),
    ("slack.webhook_url", "slack_webhook_url", "Slack incoming webhook URL: hooks.slack.com/services/T.../B.../<24 characters>.", ["hooks.slack.com/services/"],
     r"\bhttps://hooks\.slack\.com/services/T[A-Z0-9]{8,12}/B[A-Z0-9]{8,12}/[A-Za-z0-9]{24}\b", lambda: f"https://hooks.slack.com/services/T{rnd(ANU, 10)}/B{rnd(ANU, 10)}/{rnd(AN, 24)}", "SLACK_WEBHOOK_URL", False),
    ("slack.workflow_webhook_url", "slack_webhook_url", "Slack workflow / trigger webhook URL: hooks.slack.com/workflows|triggers/...", ["hooks.slack.com/workflows/", "hooks.slack.com/triggers/"],
     r"\bhttps://hooks\.slack\.com/(?:workflows|triggers)/T[A-Z0-9]{8,12}/[A-Za-z0-9/]{30,90}\b", lambda: f"https://hooks.slack.com/triggers/T{rnd(ANU, 10)}/{rnd(DG, 13)}/{rnd(HEX, 32)}", "SLACK_WEBHOOK_URL", False),
    ("discord.webhook_url", "discord_webhook_url", "Discord webhook URL: discord.com/api/webhooks/<id>/<68-character token>.", ["/api/webhooks/"],
     r"\bhttps://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_-]{60,68}", lambda: f"https://discord.com/api/webhooks/{rnd(DG, 19)}/{rnd(B64U, 68)}", "DISCORD_WEBHOOK_URL", True),
    ("telegram.bot_token", "telegram_bot_token", "Telegram bot token: <bot id>:AA + 33 characters.", [":AA"],
     r"\b[0-9]{8,10}:AA[A-Za-z0-9_-]{33}", lambda: f"{rnd(DG, 10)}:AA{rnd(B64U, 33)}", "TELEGRAM_BOT_TOKEN", True),
    ("sendgrid.api_key", "sendgrid_api_key", "SendGrid API key: SG.<22>.<43>.", ["SG."],
     r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}", lambda: f"SG.{rnd(B64U, 22)}.{rnd(B64U, 43)}", "SENDGRID_API_KEY", True),
    ("mailgun.api_key", "mailgun_api_key", "Mailgun (legacy) private API key: key- + 32 hex.", ["key-"],
     r"\bkey-[a-f0-9]{32}\b", lambda: "key-" + rnd(HEX, 32), "MAILGUN_API_KEY", False),
    ("mailchimp.api_key", "mailchimp_api_key", "Mailchimp API key: 32 hex + -us<datacenter>.", ["-us"],
     r"\b[a-f0-9]{32}-us[0-9]{1,2}\b", lambda: rnd(HEX, 32) + "-us" + rnd(DG, 2), "MAILCHIMP_API_KEY", False),
    ("brevo.api_key", "brevo_api_key", "Brevo (Sendinblue) API key: xkeysib- + 64 hex + - + 16 characters.", ["xkeysib-"],
     r"\bxkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}\b", lambda: f"xkeysib-{rnd(HEX, 64)}-{rnd(AN, 16)}", "BREVO_API_KEY", False),
    ("brevo.smtp_key", "brevo_api_key", "Brevo (Sendinblue) SMTP key: xsmtpsib- + 64 hex + - + 16 characters.", ["xsmtpsib-"],
     r"\bxsmtpsib-[a-f0-9]{64}-[A-Za-z0-9]{16}\b", lambda: f"xsmtpsib-{rnd(HEX, 64)}-{rnd(AN, 16)}", "BREVO_SMTP_KEY", False),
    ("microsoft.teams_webhook_url", "teams_webhook_url", "Microsoft Teams incoming webhook URL (webhook.office.com/webhookb2/...).", ["webhook.office.com"],
     r"\bhttps://[A-Za-z0-9-]{1,64}\.webhook\.office\.com/webhookb2/[0-9a-f-]{36}@[0-9a-f-]{36}/IncomingWebhook/[0-9a-f]{32}/[0-9a-f-]{36}(?:/[A-Za-z0-9_-]{40,50})?", lambda: f"https://contoso.webhook.office.com/webhookb2/{uuid()}@{uuid()}/IncomingWebhook/{rnd(HEX, 32)}/{uuid()}", "TEAMS_WEBHOOK_URL", True),
    ("zapier.webhook_url", "zapier_webhook_url", "Zapier catch hook URL (hooks.zapier.com/hooks/catch/<account>/<hook>).", ["hooks.zapier.com"],
     r"\bhttps://hooks\.zapier\.com/hooks/catch/[0-9]{5,10}/[a-z0-9]{5,10}\b", lambda: f"https://hooks.zapier.com/hooks/catch/{rnd(DG, 8)}/{rnd(ANL, 7)}", "ZAPIER_WEBHOOK_URL", False),
    ("facebook.access_token", "facebook_access_token", "Meta (Facebook, Instagram, WhatsApp) Graph API access token: EAA + 100-400 characters.", ["EAA"],
     r"(?:^|[^A-Za-z0-9+/])(?P<secret>EAA[A-Za-z0-9]{100,400})(?:[^A-Za-z0-9+/=]|$)", lambda: "EAAG" + rnd(AN, 180), "FB_ACCESS_TOKEN", False),
    ("twitter.bearer_token", "twitter_bearer_token", "X (Twitter) app bearer token: 22 A's + 80-120 characters.", ["AAAAAAAAAAAAAAAAAAAAA"],
     r"(?:^|[^A-Za-z0-9+/%])(?P<secret>A{22}[A-Za-z0-9%]{80,120})(?:[^A-Za-z0-9+/=%]|$)", lambda: "A" * 22 + rnd(AN, 24) + "%3D" + rnd(AN, 60), "TWITTER_BEARER_TOKEN", False),
]:
    bounds = [int(m) for m in __import__("re").findall(r"\{\d+,(\d+)\}", body)]
    sample = gen()
    window = max(len(sample) + 24, sum(bounds) + 60 if bounds else 0)
    if sid == "microsoft.teams_webhook_url":
        window = 320
    tok(f"secrets.{sid}", kind, desc, kws, body, window, gen, env=env, open_tail=open_tail,
        score=0.9 if sid in ("zapier.webhook_url", "mailchimp.api_key") else 0.95, short=kws[0] + "abc",
        min_entropy=3.0, ph=sid != "twitter.bearer_token")

# ---------------------------------------------------------------- LLM providers
openai_key = "sk-proj-" + rnd(B64U, 74) + "T3BlbkFJ" + rnd(B64U, 74)
legacy_openai = "sk-" + rnd(AN, 20) + "T3BlbkFJ" + rnd(AN, 20)
rule("secrets.openai.api_key", "openai_api_key",
     "OpenAI API key: sk-proj- / sk-svcacct- / sk-admin- project keys, and legacy sk- keys carrying the T3BlbkFJ marker.",
     ["sk-proj-", "sk-svcacct-", "sk-admin-", "T3BlbkFJ"],
     r"(?P<secret>\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,250}|\bsk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})" + TAIL,
     270, 0.97,
     [f"OPENAI_API_KEY={openai_key}", f'openai.api_key = "{legacy_openai}"'],
     ["sk-proj-abc", "OPENAI_API_KEY=sk-proj-XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
      "OPENAI_API_KEY=sk-proj-...your-key...", "T3BlbkFJ alone is only a marker"],
     group="secret", ph=True, min_entropy=3.5, case=(f"Here is my OpenAI key: {openai_key}", openai_key))

ant = "sk-ant-api03-" + rnd(B64U, 93) + "AA"
rule("secrets.anthropic.api_key", "anthropic_api_key", "Anthropic API key: sk-ant-api03- + 93 characters + AA (108 in all).",
     ["sk-ant-api"], r"(?P<secret>\bsk-ant-api[0-9]{2}-[A-Za-z0-9_-]{93}AA)" + TAIL, 115, 0.97,
     [f"ANTHROPIC_API_KEY={ant}", f'client = Anthropic(api_key="sk-ant-api03-{rnd(B64U, 93)}AA")'],
     ["ANTHROPIC_API_KEY=sk-ant-api03-...", "sk-ant-api03-" + rnd(B64U, 60) + "AA",
      "ANTHROPIC_API_KEY=sk-ant-api03-" + "x" * 93 + "AA"],
     group="secret", ph=True, min_entropy=3.5, case=(f"my claude key {ant} is not working", ant))

rule("secrets.anthropic.admin_key", "anthropic_admin_key", "Anthropic Admin API key: sk-ant-admin01- + 93 characters + AA.",
     ["sk-ant-admin"], r"(?P<secret>\bsk-ant-admin[0-9]{2}-[A-Za-z0-9_-]{93}AA)" + TAIL, 115, 0.97,
     [f"ANTHROPIC_ADMIN_KEY=sk-ant-admin01-{rnd(B64U, 93)}AA"], ["sk-ant-admin01-abc"],
     group="secret", ph=True, min_entropy=3.5)

rule("secrets.anthropic.oauth_token", "anthropic_oauth_token", "Anthropic OAuth access / refresh token: sk-ant-oat01- / sk-ant-ort01-.",
     ["sk-ant-oat", "sk-ant-ort"], r"(?P<secret>\bsk-ant-o[ar]t[0-9]{2}-[A-Za-z0-9_-]{40,200})" + TAIL, 220, 0.95,
     [f"CLAUDE_CODE_OAUTH_TOKEN=sk-ant-oat01-{rnd(B64U, 95)}AA"], ["sk-ant-oat01-short"],
     group="secret", ph=True, min_entropy=3.5)

more_llm = [
    ("huggingface.token", "huggingface_token", "Hugging Face user access token: hf_ + 34 letters.", ["hf_"],
     r"\bhf_[A-Za-z]{34}\b", lambda: "hf_" + rnd(UP + LO, 34), "HF_TOKEN", False),
    ("huggingface.org_token", "huggingface_token", "Hugging Face organisation API token: api_org_ + 34 letters.", ["api_org_"],
     r"\bapi_org_[A-Za-z]{34}\b", lambda: "api_org_" + rnd(UP + LO, 34), "HF_ORG_TOKEN", False),
    ("groq.api_key", "groq_api_key", "Groq API key: gsk_ + 52 characters.", ["gsk_"],
     r"\bgsk_[A-Za-z0-9]{52}\b", lambda: "gsk_" + rnd(AN, 52), "GROQ_API_KEY", False),
    ("replicate.api_token", "replicate_api_token", "Replicate API token: r8_ + 37 characters.", ["r8_"],
     r"\br8_[A-Za-z0-9]{37}\b", lambda: "r8_" + rnd(AN, 37), "REPLICATE_API_TOKEN", False),
    ("perplexity.api_key", "perplexity_api_key", "Perplexity API key: pplx- + 48 characters.", ["pplx-"],
     r"\bpplx-[A-Za-z0-9]{48}\b", lambda: "pplx-" + rnd(AN, 48), "PERPLEXITY_API_KEY", False),
    ("xai.api_key", "xai_api_key", "xAI (Grok) API key: xai- + 80 characters.", ["xai-"],
     r"\bxai-[A-Za-z0-9]{80}\b", lambda: "xai-" + rnd(AN, 80), "XAI_API_KEY", False),
    ("openrouter.api_key", "openrouter_api_key", "OpenRouter API key: sk-or-v1- + 64 hex.", ["sk-or-v1-"],
     r"\bsk-or-v1-[a-f0-9]{64}\b", lambda: "sk-or-v1-" + rnd(HEX, 64), "OPENROUTER_API_KEY", False),
    ("langsmith.api_key", "langsmith_api_key", "LangSmith API key: lsv2_pt_ / lsv2_sk_ + 32 hex + _ + 10 hex.", ["lsv2_"],
     r"\blsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}\b", lambda: "lsv2_pt_" + rnd(HEX, 32) + "_" + rnd(HEX, 10), "LANGSMITH_API_KEY", False),
    ("langfuse.secret_key", "langfuse_secret_key", "Langfuse secret key: sk-lf- + UUID.", ["sk-lf-"],
     r"\bsk-lf-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", lambda: "sk-lf-" + uuid(), "LANGFUSE_SECRET_KEY", False),
    ("pinecone.api_key", "pinecone_api_key", "Pinecone API key: pcsk_ + key id + _ + secret.", ["pcsk_"],
     r"\bpcsk_[A-Za-z0-9]{4,8}_[A-Za-z0-9]{40,80}\b", lambda: "pcsk_" + rnd(AN, 6) + "_" + rnd(AN, 63), "PINECONE_API_KEY", False),
    ("nvidia.api_key", "nvidia_api_key", "NVIDIA NGC / build.nvidia.com API key: nvapi- + 64 characters.", ["nvapi-"],
     r"\bnvapi-[A-Za-z0-9_-]{64}", lambda: "nvapi-" + rnd(B64U, 64), "NVIDIA_API_KEY", True),
]
for sid, kind, desc, kws, body, gen, env, open_tail in more_llm:
    bounds = [int(m) for m in __import__("re").findall(r"\{\d+,(\d+)\}", body)]
    sample = gen()
    window = max(len(sample) + 24, sum(bounds) + 40 if bounds else 0)
    tok(f"secrets.{sid}", kind, desc, kws, body, window, gen, env=env, open_tail=open_tail, score=0.95,
        short=kws[0] + "abc", min_entropy=3.0)

# Provider-named assignments (the value alone has no distinctive prefix).
for sid, kind, desc, kws, name, value, gen, env in [
    ("cohere.api_key", "cohere_api_key", "Cohere API key (40 characters) assigned to CO_API_KEY / COHERE_API_KEY.", ["cohere", "co_api_key"],
     r"co_api_key|cohere[A-Za-z0-9_.-]{0,16}", r"[A-Za-z0-9]{40}", lambda: rnd(AN, 40), "COHERE_API_KEY"),
    ("mistral.api_key", "mistral_api_key", "Mistral AI API key (32 characters) assigned to MISTRAL_API_KEY.", ["mistral"],
     r"mistral[A-Za-z0-9_.-]{0,16}", r"[A-Za-z0-9]{32}", lambda: rnd(AN, 32), "MISTRAL_API_KEY"),
    ("deepseek.api_key", "deepseek_api_key", "DeepSeek API key (sk- + 32 hex) assigned to DEEPSEEK_API_KEY.", ["deepseek"],
     r"deepseek[A-Za-z0-9_.-]{0,16}", r"sk-[a-f0-9]{32}", lambda: "sk-" + rnd(HEX, 32), "DEEPSEEK_API_KEY"),
    ("elevenlabs.api_key", "elevenlabs_api_key", "ElevenLabs API key (sk_ + 48 hex, or 32 hex) assigned to ELEVENLABS_API_KEY / xi-api-key.", ["elevenlabs", "xi-api-key", "xi_api_key"],
     r"elevenlabs[A-Za-z0-9_.-]{0,16}|xi[_-]api[_-]key", r"sk_[a-f0-9]{48}|[a-f0-9]{32}", lambda: "sk_" + rnd(HEX, 48), "ELEVENLABS_API_KEY"),
    ("assemblyai.api_key", "assemblyai_api_key", "AssemblyAI API key (32 hex) assigned to ASSEMBLYAI_API_KEY.", ["assemblyai"],
     r"assemblyai[A-Za-z0-9_.-]{0,16}", r"[a-f0-9]{32}", lambda: rnd(HEX, 32), "ASSEMBLYAI_API_KEY"),
    ("azure.openai_api_key", "azure_openai_api_key", "Azure OpenAI key (32 hex, or 84-character 2024 format) assigned to AZURE_OPENAI_API_KEY.", ["azure_openai", "azureopenai", "azure-openai"],
     r"azure[_-]?openai[A-Za-z0-9_.-]{0,16}", r"[a-f0-9]{32}|[A-Za-z0-9]{84}", lambda: rnd(HEX, 32), "AZURE_OPENAI_API_KEY"),
    ("wandb.api_key", "wandb_api_key", "Weights & Biases API key (40 hex, or v1 format) assigned to WANDB_API_KEY.", ["wandb"],
     r"wandb[A-Za-z0-9_.-]{0,16}", r"[a-f0-9]{40}|v1_[A-Za-z0-9_]{40,100}", lambda: rnd(HEX, 40), "WANDB_API_KEY"),
    ("datadog.api_key", "datadog_api_key", "Datadog API (32 hex) or application (40 hex) key assigned to DD_API_KEY / DD_APP_KEY / DATADOG_*.", ["datadog", "dd_api", "dd_app", "dd-api", "dd-app", "ddapi", "ddapp"],
     r"(?:datadog|dd)[_-]?(?:api|app|application)[_-]?key", r"[a-f0-9]{40}|[a-f0-9]{32}", lambda: rnd(HEX, 32), "DD_API_KEY"),
    ("algolia.api_key", "algolia_api_key", "Algolia admin / write API key (32 hex) assigned to ALGOLIA_*_KEY.", ["algolia"],
     r"algolia[A-Za-z0-9_.-]{0,24}(?:key|secret)", r"[a-f0-9]{32}", lambda: rnd(HEX, 32), "ALGOLIA_ADMIN_KEY"),
    ("twilio.api_key", "twilio_api_key", "Twilio API key SID (SK + 32 hex) assigned to TWILIO_*.", ["twilio"],
     r"twilio[A-Za-z0-9_.-]{0,24}", r"SK[0-9a-fA-F]{32}", lambda: "SK" + rnd(HEX, 32), "TWILIO_API_KEY"),
    ("twilio.auth_token", "twilio_auth_token", "Twilio auth token / API secret (32 hex) assigned to TWILIO_AUTH_TOKEN / TWILIO_API_SECRET.", ["twilio"],
     r"twilio[A-Za-z0-9_.-]{0,12}(?:auth[_-]?token|api[_-]?secret|secret)", r"[a-f0-9]{32}", lambda: rnd(HEX, 32), "TWILIO_AUTH_TOKEN"),
    ("heroku.api_key", "heroku_api_key", "Heroku (legacy) API key, a UUID assigned to HEROKU_API_KEY.", ["heroku"],
     r"heroku[A-Za-z0-9_.-]{0,16}(?:key|token)", r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", uuid, "HEROKU_API_KEY"),
    ("snyk.token", "snyk_token", "Snyk API token, a UUID assigned to SNYK_TOKEN.", ["snyk"],
     r"snyk[A-Za-z0-9_.-]{0,16}(?:token|key)", r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", uuid, "SNYK_TOKEN"),
    ("cloudflare.api_token", "cloudflare_api_token", "Cloudflare API token (40 characters) assigned to CLOUDFLARE_API_TOKEN / CF_API_TOKEN.", ["cloudflare", "cf_api"],
     r"(?:cloudflare|cf)[_-]api[_-]token", r"[A-Za-z0-9_-]{40}", lambda: rnd(AN, 40), "CLOUDFLARE_API_TOKEN"),
    ("cloudflare.global_api_key", "cloudflare_api_key", "Cloudflare global API key (37 hex) assigned to CLOUDFLARE_API_KEY / CF_API_KEY.", ["cloudflare", "cf_api"],
     r"(?:cloudflare|cf)[_-](?:global[_-])?api[_-]key", r"[a-f0-9]{37}", lambda: rnd(HEX, 37), "CLOUDFLARE_API_KEY"),
    ("discord.bot_token", "discord_bot_token", "Discord bot token (base64 id . timestamp . HMAC) assigned to DISCORD_*TOKEN.", ["discord"],
     r"discord[A-Za-z0-9_.-]{0,16}token", r"[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}",
     lambda: "M" + rnd(AN, 25) + "." + rnd(B64U, 6) + "." + rnd(B64U, 38), "DISCORD_BOT_TOKEN"),
    ("zendesk.api_token", "zendesk_api_token", "Zendesk API token (40 characters) assigned to ZENDESK_*TOKEN.", ["zendesk"],
     r"zendesk[A-Za-z0-9_.-]{0,16}token", r"[A-Za-z0-9]{40}", lambda: rnd(AN, 40), "ZENDESK_API_TOKEN"),
    ("asana.pat", "asana_token", "Asana personal access token (<n>/<16 digits>:<32 hex>) assigned to ASANA_*.", ["asana"],
     r"asana[A-Za-z0-9_.-]{0,16}", r"[0-9]/[0-9]{13,16}(?::|/)[a-f0-9]{32}", lambda: f"1/{rnd(DG, 16)}:{rnd(HEX, 32)}", "ASANA_ACCESS_TOKEN"),
    ("travis.api_token", "travis_api_token", "Travis CI API token (22 characters) assigned to TRAVIS_*TOKEN.", ["travis"],
     r"travis[A-Za-z0-9_.-]{0,16}token", r"[A-Za-z0-9_-]{22}", lambda: rnd(AN, 22), "TRAVIS_API_TOKEN"),
    ("codecov.token", "codecov_token", "Codecov upload token, a UUID assigned to CODECOV_TOKEN.", ["codecov"],
     r"codecov[A-Za-z0-9_.-]{0,16}token", r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", uuid, "CODECOV_TOKEN"),
    ("mailgun.api_key_v2", "mailgun_api_key", "Mailgun API key (32 hex - 8 hex - 8 hex) assigned to MAILGUN_*.", ["mailgun"],
     r"mailgun[A-Za-z0-9_.-]{0,16}", r"[a-f0-9]{32}-[a-f0-9]{8}-[a-f0-9]{8}", lambda: f"{rnd(HEX, 32)}-{rnd(HEX, 8)}-{rnd(HEX, 8)}", "MAILGUN_API_KEY"),
    ("pagerduty.api_key", "pagerduty_api_key", "PagerDuty REST API key (20 characters) assigned to PAGERDUTY_*.", ["pagerduty"],
     r"pagerduty[A-Za-z0-9_.-]{0,16}(?:key|token)", r"[A-Za-z0-9_+-]{20}", lambda: "u+" + rnd(AN, 18), "PAGERDUTY_API_KEY"),
]:
    v1, v2 = gen(), gen()
    assign(f"secrets.{sid}", kind, desc, kws, name, value, 140, 0.85,
           [f"{env}={v1}", f'{env.lower()}: "{v2}"'],
           [f"{env}=${{{env}}}", f"{env}=<your-key>", f"{env}=" + v1[: len(v1) // 2],
            f"The {kws[0]} service is down today."],
           case=(f"{env}={v1}", v1))

# ---------------------------------------------------------------- package registries
npm_tok = "npm_" + (lambda b: b + b62(zlib.crc32(b.encode())))(rnd(AN, 30))
tok("secrets.npm.access_token", "npm_token", "npm access token: npm_ + 30 base62 characters + base62 CRC-32 checksum.",
    ["npm_"], r"\bnpm_[A-Za-z0-9]{36}\b", 40, lambda: "npm_" + (lambda b: b + b62(zlib.crc32(b.encode())))(rnd(AN, 30)),
    score=0.99, validator="npm_token_checksum", env="NPM_TOKEN", no_match=[broken(npm_tok)], short="npm_abc")

rule("secrets.npm.npmrc_auth_token", "npm_token", "Registry auth token in .npmrc / .yarnrc (//registry/:_authToken=...).",
     ["_authToken", "npmAuthToken"], r"""(?i:_authToken|npmAuthToken)[ \t]*[=:][ \t]*["']?(?P<secret>[A-Za-z0-9._~+/=-]{16,512})(?:["'\s]|$)""", 540, 0.9,
     [f"//registry.npmjs.org/:_authToken={rnd(AN, 36)}", f'npmAuthToken: "{rnd(HEX, 8)}-{rnd(HEX, 4)}-{rnd(HEX, 4)}-{rnd(HEX, 4)}-{rnd(HEX, 12)}"'],
     ["//registry.npmjs.org/:_authToken=${NPM_TOKEN}", "//registry.npmjs.org/:_authToken=<token>"],
     group="secret", ph=True, min_entropy=3.0, validator="credential_value")

basic = base64.b64encode(b"deploy:" + rnd(AN, 16).encode()).decode()
rule("secrets.npm.npmrc_auth", "basic_auth_credentials", "Base64 user:password in .npmrc _auth=.",
     ["_auth"], r"""(?i:_auth)[ \t]*=[ \t]*["']?(?P<secret>[A-Za-z0-9+/]{8,512}={0,2})(?:["'\s]|$)""", 540, 0.9,
     [f"_auth={basic}"], ["_auth=${NPM_AUTH}", "_auth=" + base64.b64encode(b"no colon here").decode()],
     group="secret", validator="basic_auth_credentials", ph=True)

pypi = "pypi-AgEIcHlwaS5vcmc" + rnd(B64U, 150)
tok("secrets.pypi.upload_token", "pypi_token", "PyPI / TestPyPI API token: pypi- + base64 macaroon for pypi.org.",
    ["pypi-AgEIcHlwaS5vcmc", "pypi-AgENdGVzdC5weXBpLm9yZw"],
    r"\bpypi-(?:AgEIcHlwaS5vcmc|AgENdGVzdC5weXBpLm9yZw)[A-Za-z0-9_-]{50,1000}", 1060,
    lambda: "pypi-AgEIcHlwaS5vcmc" + rnd(B64U, 150), env="TWINE_PASSWORD", open_tail=True, short="pypi-AgEIcHlwaS5vcmc")

for sid, kind, desc, kws, body, gen, env in [
    ("rubygems.api_key", "rubygems_api_key", "RubyGems API key: rubygems_ + 48 hex.", ["rubygems_"], r"\brubygems_[a-f0-9]{48}\b", lambda: "rubygems_" + rnd(HEX, 48), "GEM_HOST_API_KEY"),
    ("nuget.api_key", "nuget_api_key", "NuGet.org API key: oy2 + 43 lower-case characters.", ["oy2"], r"\boy2[a-z0-9]{43}\b", lambda: "oy2" + rnd(ANL, 43), "NUGET_API_KEY"),
    ("cratesio.api_token", "crates_io_token", "crates.io API token: cio + 32 characters.", ["cio"], r"\bcio[A-Za-z0-9]{32}\b", lambda: "cio" + rnd(AN, 32), "CARGO_REGISTRY_TOKEN"),
    ("clojars.token", "clojars_token", "Clojars deploy token: CLOJARS_ + 60 characters.", ["CLOJARS_"], r"\bCLOJARS_[a-z0-9]{60}\b", lambda: "CLOJARS_" + rnd(ANL, 60), "CLOJARS_PASSWORD"),
]:
    tok(f"secrets.{sid}", kind, desc, kws, body, len(gen()) + 20, gen, env=env, short=kws[0] + "abc", min_entropy=3.0)

dauth = base64.b64encode(b"vallumbot:" + rnd(AN, 20).encode()).decode()
rule("secrets.docker.config_auth", "basic_auth_credentials", "Registry credentials in a Docker config.json \"auth\" (base64 user:password).",
     ['"auth"'], r'''"auth"[ \t]*:[ \t]*"(?P<secret>[A-Za-z0-9+/]{8,1024}={0,2})"''', 1050, 0.9,
     [f'{{"auths": {{"ghcr.io": {{"auth": "{dauth}"}}}}}}'],
     ['{"auth": "dXNlcm5hbWU="}', '{"auth": "bearer"}'], group="secret", validator="basic_auth_credentials", ph=True)

# ---------------------------------------------------------------- databases and URLs with passwords
dbpw = rnd(AN, 14)
rule("secrets.database.url_password", "database_url_password",
     "Password in a database connection URL (PostgreSQL, MySQL, MongoDB, Redis, AMQP, SQL Server, ...): scheme://user:PASSWORD@host.",
     ["postgres", "mysql", "mariadb", "mongodb", "redis", "amqp", "mssql", "sqlserver", "oracle", "cockroachdb",
      "clickhouse", "neo4j", "bolt://", "couchbase", "snowflake"],
     r"""(?i:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver|oracle|cockroachdb|clickhouse|neo4j(?:\+s)?|bolt|couchbase|snowflake)(?:\+[A-Za-z0-9]{1,20})?://[^\s:/@'"`]{0,64}:(?P<secret>[^\s/@'"`]{1,128})@[^\s/@'"`]{1,100}""",
     300, 0.9,
     [f"DATABASE_URL=postgresql://app:{dbpw}@db.internal:5432/app", f'mongodb+srv://admin:{rnd(AN, 12)}@cluster0.abcde.mongodb.net/',
      f"redis://:{rnd(AN, 16)}@cache:6379/0", f"postgresql+psycopg2://svc:{rnd(AN, 10)}@10.0.0.5/db"],
     ["postgres://user:password@localhost/db", "postgresql://app:${DB_PASSWORD}@db:5432/app",
      "mysql://root:<password>@localhost", "postgres://db.internal:5432/app", "redis://cache:6379/0"],
     group="secret", validator="credential_value", ph=True,
     case=(f"the connection string is postgresql://app:{dbpw}@db.internal:5432/app", dbpw))

upw = rnd(AN, 12)
rule("secrets.url.password", "url_password", "Password in the userinfo of a URL (https://user:PASSWORD@host, ftp://, sftp://, smtp://, ldap://, ...).",
     ["://"],
     r"""(?i:https?|ftps?|sftp|smtps?|ldaps?|ssh|git|svn|wss?|imaps?|pop3s?|socks[45]h?|rtsp|mqtts?|nats|kafka|scp|rsync|s3)://[^\s:/@'"`]{1,64}:(?P<secret>[^\s/@'"`]{1,128})@[A-Za-z0-9.\[\]:-]{1,100}""",
     300, 0.85,
     [f"git clone https://deploy:{upw}@git.example.com/team/repo.git", f"ftp://backup:{rnd(AN, 10)}@files.example.com/"],
     ["https://user:password@example.com", "https://example.com/path?x=1", "http://localhost:8080/", "https://${USER}:${PASS}@host"],
     group="secret", validator="credential_value", ph=True, case=(f"clone https://deploy:{upw}@git.example.com/team/repo.git", upw))

rule("secrets.mysql.cli_password", "password_assignment", "Password given to the mysql / mysqldump command line with -p<password>.",
     ["mysql"], r"""\bmysql(?:dump|admin|import|sh)?\b[^\n]{0,120}?[ \t]-p(?P<secret>[^\s'"`-][^\s'"`]{3,63})""", 200, 0.85,
     [f"mysql -u root -p{rnd(AN, 12)} shop", f"mysqldump -h db -uadmin -p{rnd(AN, 10)} --all-databases > dump.sql"],
     ["mysql -u root -p shop", "mysql -u root -p$MYSQL_PWD", "mysql -h db -P 3306"],
     group="secret", validator="credential_value", ph=True)

rule("secrets.sshpass.password", "password_assignment", "Password passed to sshpass -p.",
     ["sshpass"], r"""\bsshpass[ \t]+-p[ \t]*["']?(?P<secret>[^\s"'`$][^\s"'`]{2,127})""", 150, 0.85,
     [f"sshpass -p '{rnd(AN, 12)}' ssh admin@10.0.0.2", f"sshpass -p{rnd(AN, 9)} scp f host:"],
     ["sshpass -p \"$SSHPASS\" ssh host", "sshpass -f ~/.pw ssh host"], group="secret", validator="credential_value", ph=True)

rule("secrets.docker.login_password", "password_assignment", "Password passed to docker login -p / --password.",
     ["docker login"], r"""\bdocker[ \t]+login\b[^\n]{0,120}?[ \t](?:-p|--password)[ =]["']?(?P<secret>[^\s"'`$][^\s"'`]{3,255})""", 400, 0.85,
     [f"docker login -u ci -p {rnd(AN, 16)} registry.example.com"],
     ["docker login -u ci --password-stdin registry.example.com", "docker login -u ci -p $CI_REGISTRY_PASSWORD"],
     group="secret", validator="credential_value", ph=True)

rule("secrets.curl.user_password", "password_assignment", "Password in curl -u / --user user:password.",
     ["curl"], r"""\bcurl\b[^\n]{0,200}?[ \t](?:-u|--user)[ =]?["']?[^\s:'"]{1,64}:(?P<secret>[^\s'"`$][^\s'"`]{2,127})""", 420, 0.85,
     [f"curl -u admin:{rnd(AN, 12)} https://api.example.com/v1/items"],
     ["curl -u admin:$PASSWORD https://api.example.com", "curl -u admin https://api.example.com", "curl -u user:pass https://x"],
     group="secret", validator="credential_value", ph=True)

rule("secrets.netrc.password", "password_assignment", "Password in a .netrc entry (machine HOST login USER password PASSWORD).",
     ["password"], r"""(?i:\bmachine)[ \t]+\S{1,253}\s+(?i:login)[ \t]+\S{1,128}\s+(?i:password)[ \t]+(?P<secret>\S{3,128})""", 560, 0.85,
     [f"machine api.heroku.com\n  login me@example.com\n  password {rnd(AN, 16)}"],
     ["machine api.heroku.com login me@example.com password $TOKEN"], group="secret", validator="credential_value", ph=True)

# ---------------------------------------------------------------- JWT and HTTP auth
jwt1 = make_jwt()
rule("secrets.jwt.token", "jwt", "JSON Web Token: base64url header with \"alg\", JSON claims, signature.",
     ["eyJ"], r"\beyJ[A-Za-z0-9_-]{8,400}\.[A-Za-z0-9_-]{8,3000}\.[A-Za-z0-9_-]{0,700}", 4200, 0.85,
     [f"Authorization: Bearer {jwt1}", f'{{"id_token": "{make_jwt({"iss": "https://accounts.example.com", "aud": "app", "exp": 1893456000})}"}}'],
     ["eyJhbGciOiJIUzI1NiJ9.notjson.sig", "eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiIxIn0.c2ln", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0."],
     validator="jwt", case=(f"curl -H 'Authorization: Bearer {jwt1}' https://api.example.com", jwt1))

bearer = rnd(B64U, 48)
rule("secrets.http.bearer_token", "bearer_token", "Token in an Authorization: Bearer header (or any `Bearer <token>`).",
     ["bearer"], r"""(?i:\bbearer)[ \t]+(?P<secret>[A-Za-z0-9_~+/.=-]{20,1024})""", 1040, 0.8,
     [f"Authorization: Bearer {bearer}", f"-H 'authorization: bearer {rnd(AN, 40)}'"],
     ["Authorization: Bearer ${TOKEN}", "Authorization: Bearer <token>", "Authorization: Bearer YOUR_ACCESS_TOKEN_HERE",
      "She was the bearer of bad news.", "Authorization: Bearer aaaaaaaaaaaaaaaaaaaaaaaaa"],
     group="secret", min_entropy=3.5, ph=True, case=(f"Authorization: Bearer {bearer}", bearer))

bcred = base64.b64encode(b"svc-account:" + rnd(AN, 14).encode()).decode()
rule("secrets.http.basic_auth", "basic_auth_credentials", "HTTP Basic credentials: `Basic <base64 user:password>`.",
     ["basic"], r"""(?i:\bbasic)[ \t]+(?P<secret>[A-Za-z0-9+/]{8,512}={0,2})(?:[^A-Za-z0-9+/=]|$)""", 540, 0.9,
     [f"Authorization: Basic {bcred}"],
     ["Basic understanding of Python is needed.", "Authorization: Basic dXNlcm5hbWU6cGFzc3dvcmQ=x", "Authorization: Basic " + base64.b64encode(b"nocolon").decode()],
     group="secret", validator="basic_auth_credentials", ph=True, case=(f"Authorization: Basic {bcred}", bcred))

# ---------------------------------------------------------------- private keys
rsa_body = pem_body(1190)
pem_rsa = f"-----BEGIN RSA PRIVATE KEY-----\n{rsa_body}\n-----END RSA PRIVATE KEY-----"
ossh = f"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA{pem_body(300, 70)}\n-----END OPENSSH PRIVATE KEY-----"
pgp = f"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF{pem_body(900)}\n=Ab12\n-----END PGP PRIVATE KEY BLOCK-----"
json_key = "-----BEGIN PRIVATE KEY-----\\n" + pem_body(600).replace("\n", "\\n") + "\\n-----END PRIVATE KEY-----\\n"
enc = f"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,{rnd(HEXU, 32)}\n\n{pem_body(1190)}\n-----END RSA PRIVATE KEY-----"
rule("secrets.private_key.pem", "private_key",
     "PEM, OpenSSH or PGP private key block (RSA, EC, DSA, PKCS#8, encrypted), across lines or with escaped \\n; a truncated block is still reported.",
     ["-----BEGIN"],
     r"""-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----(?:(?:[^-]|-[A-Za-z0-9 ])*?-----END[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----|(?:(?:\\[rn]|\r?\n)[A-Za-z0-9+/=:, -]*){2,})""",
     8192, 0.99,
     [pem_rsa, "key:\n" + ossh + "\n", pgp, f'{{"type": "service_account", "private_key": "{json_key}"}}', enc,
      "-----BEGIN EC PRIVATE KEY-----\n" + pem_body(100) + "\n"],
     ["-----BEGIN CERTIFICATE-----\n" + pem_body(300) + "\n-----END CERTIFICATE-----",
      "-----BEGIN PUBLIC KEY-----\n" + pem_body(200) + "\n-----END PUBLIC KEY-----",
      "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA...\n-----END RSA PRIVATE KEY-----",
      "-----BEGIN PRIVATE KEY-----\n<paste your key here>\n-----END PRIVATE KEY-----"],
     validator="private_key_block", case=("deploy key:\n" + pem_rsa + "\nthanks", pem_rsa))

putty = ("PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: vallum-test\nPublic-Lines: 2\n"
         f"{rnd(B64, 64)}\n{rnd(B64, 4)}\nPrivate-Lines: 1\n{rnd(B64, 44)}\nPrivate-MAC: {rnd(HEX, 64)}")
rule("secrets.private_key.putty", "private_key", "PuTTY private key file (.ppk, versions 2 and 3).",
     ["PuTTY-User-Key-File-"],
     r"""PuTTY-User-Key-File-[23]:[ \t]*[^\r\n]+(?:\r?\n[^\r\n]*)+?\r?\nPrivate-MAC:[ \t]*[0-9a-f]{40,64}""",
     9000, 0.99, [putty], ["PuTTY-User-Key-File-3: ssh-ed25519 (the header alone)"], min_entropy=3.5)

age = bech32_encode("age-secret-key-", randbytes(32)).upper()
tok("secrets.age.secret_key", "age_secret_key", "age encryption secret key: AGE-SECRET-KEY-1 + 58 bech32 characters with a valid checksum.",
    ["AGE-SECRET-KEY-1"], r"\bAGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}\b", 80,
    lambda: bech32_encode("age-secret-key-", randbytes(32)).upper(), score=0.99, validator="bech32_checksum",
    env="SOPS_AGE_KEY", no_match=[age[:-1] + ("Q" if age[-1] != "Q" else "P")], short="AGE-SECRET-KEY-1QQQ")

nsec = bech32_encode("nsec", randbytes(32))
tok("secrets.nostr.nsec", "nostr_private_key", "Nostr private key: nsec1 + 58 bech32 characters with a valid checksum.",
    ["nsec1"], r"\bnsec1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{58}\b", 70,
    lambda: bech32_encode("nsec", randbytes(32)), score=0.99, validator="bech32_checksum",
    env="NOSTR_NSEC", no_match=[nsec[:-1] + ("q" if nsec[-1] != "q" else "p")], short="nsec1qqq")

kube_key = base64.b64encode((pem_rsa + "\n").encode()).decode()
rule("secrets.private_key.kubeconfig", "private_key", "Base64 client private key in a kubeconfig (client-key-data).",
     ["client-key-data"], r"""client-key-data:[ \t]*["']?(?P<secret>LS0tLS1CRUdJTi[A-Za-z0-9+/=]{40,8000})""", 8100, 0.99,
     [f"users:\n- name: admin\n  user:\n    client-key-data: {kube_key}\n"], ["client-key-data: <base64-key>"], group="secret", min_entropy=4.0)

B64_HEADERS = {}
for label in ["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "DSA PRIVATE KEY"]:
    enc_h = base64.b64encode(f"-----BEGIN {label}-----".encode()).decode()
    B64_HEADERS[label] = enc_h[: len(enc_h) // 4 * 4 - 4]
rule("secrets.private_key.base64_pem", "private_key", "A PEM private key encoded once more in base64 (Kubernetes secrets, CI variables, env files).",
     sorted(set(B64_HEADERS.values())),
     "(?:" + "|".join(sorted(set(B64_HEADERS.values()))) + ")[A-Za-z0-9+/]{100,8000}={0,2}", 8100, 0.97,
     [f"SSH_KEY_B64={kube_key}", "tls.key: " + base64.b64encode(("-----BEGIN PRIVATE KEY-----\n" + pem_body(300) + "\n-----END PRIVATE KEY-----\n").encode()).decode()],
     ["tls.crt: " + base64.b64encode(("-----BEGIN CERTIFICATE-----\n" + pem_body(300) + "\n-----END CERTIFICATE-----\n").encode()).decode()], min_entropy=4.0)

jwk_d = rnd(B64U, 43)
rule("secrets.private_key.jwk", "private_key", "Private JSON Web Key: a \"kty\" RSA/EC/OKP key with its private \"d\" member.",
     ['"kty"'], r'''"kty"[ \t]*:[ \t]*"(?:RSA|EC|OKP)"[^{}]{0,3000}?"d"[ \t]*:[ \t]*"(?P<secret>[A-Za-z0-9_-]{32,1024})"''', 4200, 0.95,
     [f'{{"kty": "EC", "crv": "P-256", "x": "{rnd(B64U, 43)}", "y": "{rnd(B64U, 43)}", "d": "{jwk_d}"}}'],
     [f'{{"kty": "EC", "crv": "P-256", "x": "{rnd(B64U, 43)}", "y": "{rnd(B64U, 43)}"}}'], group="secret", min_entropy=3.5)

# ---------------------------------------------------------------- generic assignments
PW_NAME = r"(?i:(?:password|passwd|passphrase|pwd)[0-9]{0,2})"
pw1 = "Tr0ub4dor&3x"
rule("secrets.generic.password_quoted", "password_assignment",
     "A quoted password assigned in code, JSON, YAML, TOML or .env (password = \"...\", \"db_password\": \"...\").",
     ["password", "passwd", "passphrase", "pwd"],
     PW_NAME + SEP + r"""["'](?P<secret>[^"'\r\n]{6,128})["']""", 150, 0.8,
     [f'DB_PASSWORD = "{pw1}"', f'{{"password": "{rnd(AN, 10)}!"}}', f"smtp_pwd: '{rnd(AN, 12)}'"],
     ['password = "changeme"', 'password = "${DB_PASSWORD}"', '"password": "{{ vault_db_password }}"',
      'password = "********"', 'password_hash = "' + rnd(HEX, 40) + '"', 'if password == "' + rnd(AN, 8) + '":',
      'password = "password"', '"password": "string"'],
     group="secret", validator="credential_value", min_entropy=2.3, ph=True,
     case=(f'config = {{"user": "svc", "password": "{pw1}"}}', pw1))

pw2 = "Summer2024!" + rnd(DG, 2)
rule("secrets.generic.password_bare", "password_assignment",
     "An unquoted password in .env, YAML, INI, properties or a connection string (PASSWORD=..., password: ..., Pwd=...;). The value must hold a character other than a lower-case letter.",
     ["password", "passwd", "passphrase", "pwd"],
     PW_NAME + r"""[ \t]*(?::=|=|:)[ \t]*(?P<secret>[a-z]{0,64}[A-Z0-9!#%*+./?^_~-][^\s"'`,;&(){}\[\]<>=]{0,127})(?:[\s,;&]|$)""", 220, 0.75,
     [f"DB_PASSWORD={pw2}", f"  password: {rnd(AN, 12)}", f"Server=db;User Id=sa;Password={rnd(AN, 10)}9;"],
     ["password: string", "PASSWORD=${DB_PASSWORD}", "password = os.environ['PASSWORD']", "password = getpass.getpass()",
      "password: please choose a strong one", "password = self.password", "PASSWORD=", "password: DB_PASSWORD",
      "password = config.db.password", "Password: N/A"],
     group="secret", validator="credential_value", min_entropy=2.3, ph=True,
     case=(f"# .env\nDB_HOST=db\nDB_PASSWORD={pw2}\n", pw2))

rule("secrets.generic.password_flag", "password_assignment", "A password given as a command-line flag (--password VALUE, --pwd=VALUE).",
     ["-pass", "-pwd"], r"""(?:^|[ \t])--?(?i:password|passwd|pass|pwd)[ \t]+["']?(?P<secret>[a-z]{0,64}[A-Z0-9!#%*+./?^_~-][^\s"'`]{0,127})""", 150, 0.75,
     [f"./deploy.sh --user admin --password {rnd(AN, 12)}"],
     ["./deploy.sh --password $PASSWORD", "--password <password>", "--password-stdin",
      "provided via the --username and --password options instead"],
     group="secret", validator="credential_value", min_entropy=2.3, ph=True)

SECRET_NAME = r"(?i:(?:secret|token|api[_-]?key|apikey|access[_-]?key|auth[_-]?key|private[_-]?key|client[_-]?secret|credentials?)(?:[_.-]?(?:key|token|secret|value))?)"
SECRET_KW = ["secret", "token", "api_key", "apikey", "api-key", "access_key", "accesskey", "access-key",
             "auth_key", "authkey", "auth-key", "private_key", "privatekey", "private-key", "credential"]
gs = rnd(AN, 32)
rule("secrets.generic.secret_quoted", "generic_secret",
     "A high-entropy quoted value assigned to a name like secret, token, api_key, access_key, client_secret or credentials.",
     SECRET_KW, SECRET_NAME + SEP + r"""["'](?P<secret>[^"'\s]{16,200})["']""", 240, 0.7,
     [f'API_KEY = "{gs}"', f'{{"client_secret": "{rnd(AN, 40)}"}}', f"SECRET_KEY = 'django-insecure-{rnd(AN + '!@#%^&*-_=+', 40)}'"],
     ['api_key = "your-api-key-here"', 'token = "aaaaaaaaaaaaaaaaaaaaaaaa"', 'secret = "${{ secrets.API_TOKEN }}"',
      'max_tokens = "4096"', 'tokenizer = "bert-base-uncased"', 'token_type = "Bearer"', 'api_key = "sk-..."',
      'api_key_url = "https://example.com/keys/aaaaaaaaaaaaaaa"'],
     group="secret", validator="credential_value", min_entropy=3.5, ph=True, case=(f'API_KEY = "{gs}"', gs))

gs2 = rnd(AN, 40)
rule("secrets.generic.secret_bare", "generic_secret",
     "A high-entropy unquoted value assigned to a name like SECRET, TOKEN, API_KEY or ACCESS_KEY in .env, YAML, INI or properties.",
     SECRET_KW, SECRET_NAME + r"""[ \t]*(?::=|=|:)[ \t]*(?P<secret>[A-Za-z0-9_+/=.~-]{16,200})(?:[\s,;&]|$)""", 240, 0.7,
     [f"STRIPE_API_KEY={gs2}", f"  client_secret: {rnd(AN, 32)}", f"jwt.secret={rnd(AN, 24)}"],
     ["SECRET_KEY=${SECRET_KEY}", "token: " + "a" * 24, "api_key: process.env.API_KEY", "API_KEY=your_api_key_here",
      "tokens: 1024", "secret_name: prod-db-credentials", "TOKEN_URL=https://auth.example.com/token"],
     group="secret", validator="credential_value", min_entropy=3.5, ph=True, case=(f"STRIPE_API_KEY={gs2}", gs2))

rule("secrets.generic.xml_password", "password_assignment", "A password in an XML element (<password>...</password>, Maven settings.xml, Tomcat, ...).",
     ["password>", "passwd>", "pwd>", "passphrase>"],
     r"""(?i:password|passwd|pwd|passphrase)>(?P<secret>[^<\s]{4,128})</""", 150, 0.8,
     [f"<server><id>releases</id><username>deploy</username><password>{rnd(AN, 14)}</password></server>"],
     ["<password>${env.MAVEN_PASSWORD}</password>", "<password></password>", "<password>changeme</password>"],
     group="secret", validator="credential_value", min_entropy=2.3, ph=True)

rule("secrets.generic.xml_secret", "generic_secret", "A high-entropy value in an XML element named like a secret, token or API key.",
     ["secret>", "token>", "apikey>", "api_key>", "accesskey>", "access_key>"],
     r"""(?i:secret|token|apikey|api_key|accesskey|access_key)>(?P<secret>[^<\s]{16,256})</""", 280, 0.7,
     [f"<clientSecret>{rnd(AN, 32)}</clientSecret>"], ["<token>${TOKEN}</token>", "<apiKey>your-api-key-here</apiKey>"],
     group="secret", validator="credential_value", min_entropy=3.5, ph=True)

rule("secrets.generic.nuget_config_password", "password_assignment", "A password in NuGet.config packageSourceCredentials (<add key=\"ClearTextPassword\" value=\"...\"/>).",
     ['password"'], r"""<add[ \t]+key="(?i:(?:ClearText)?Password)"[ \t]+value="(?P<secret>[^"]{4,256})\"""", 400, 0.85,
     [f'<add key="ClearTextPassword" value="{rnd(AN, 14)}" />'], ['<add key="ClearTextPassword" value="%NUGET_PASSWORD%" />'],
     group="secret", validator="credential_value", min_entropy=2.3, ph=True)


# ---------------------------------------------------------------- output
def tq(s):
    if "'''" not in s and not s.endswith("'") and "\n" not in s:
        return "'''" + s + "'''"
    return json.dumps(s, ensure_ascii=False)


def emit(root):
    ids = set()
    out = ["# Built-in `secrets` pack: one [[rule]] table per rule (schema: crates/vallum-rules/src/spec.rs).",
           "#",
           "# Every rule is gated by keywords (the provider prefix or the assignment name), so the regex",
           "# only runs in a small window around a keyword hit. Example values are random strings in each",
           "# provider's documented shape (with valid checksums where the format has one), made for these",
           "# tests; none is a real credential.", ""]
    for r in RULES:
        assert r["id"] not in ids, r["id"]
        ids.add(r["id"])
        assert r["keywords"], r["id"]
        out.append("[[rule]]")
        out.append(f'id = "{r["id"]}"')
        out.append('category = "secret"')
        out.append(f'kind = "{r["kind"]}"')
        out.append(f"description = {json.dumps(r['description'])}")
        out.append("keywords = [" + ", ".join(json.dumps(k) for k in r["keywords"]) + "]")
        out.append(f"window = {r['window']}")
        out.append(f"pattern = {tq(r['pattern'])}")
        if r["ci"]:
            out.append("case_insensitive = true")
        out.append(f"score = {r['score']}")
        if r["group"]:
            out.append(f'group = "{r["group"]}"')
        if r["validator"]:
            out.append(f'validator = "{r["validator"]}"')
        if r["min_entropy"] is not None:
            out.append(f"min_entropy = {r['min_entropy']}")
        if r["ph"]:
            out.append("reject_placeholders = true")
        if r["context"]:
            c = r["context"]
            parts = [f"words = [{', '.join(json.dumps(w) for w in c['words'])}]"]
            for k in ("boost", "distance"):
                if k in c:
                    parts.append(f"{k} = {c[k]}")
            if c.get("required"):
                parts.append("required = true")
            out.append("context = { " + ", ".join(parts) + " }")
        out.append("examples.match = [" + ", ".join(json.dumps(s, ensure_ascii=False) for s in r["match"]) + "]")
        out.append("examples.no_match = [" + ", ".join(json.dumps(s, ensure_ascii=False) for s in r["no_match"]) + "]")
        out.append("")
    with open(f"{root}/crates/vallum-rules/rules/secrets.toml", "w") as f:
        f.write("\n".join(out))
    lines = []
    for c in CASES:
        lines.append(json.dumps(c, ensure_ascii=False))
    lines += [json.dumps(x, ensure_ascii=False) for x in EXTRA_CASES]
    with open(f"{root}/testdata/secrets.jsonl", "w") as f:
        f.write("\n".join(lines) + "\n")
    print(len(RULES), "rules,", len(lines), "cases")


GH_DOC = "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"  # GitHub's published format example
REDACT_PW = "Hx7!vR2q_9zL"
EXTRA_CASES = [
    {"text": f"git push with {GH_DOC} now", "expect": [{"category": "secret", "kind": "github_token", "rule": "secrets.github.pat_classic", "match": GH_DOC}],
     "verdict": "flag", "redacted": "git push with <GITHUB_TOKEN> now", "note": "secrets are redacted, which shows as flag"},
    {"text": f"DB_HOST=db\nDB_PASSWORD={REDACT_PW}\n", "expect": [{"category": "secret", "kind": "password_assignment", "match": REDACT_PW}],
     "redacted": "DB_HOST=db\nDB_PASSWORD=<PASSWORD_ASSIGNMENT>\n", "note": "only the value of an assignment is replaced"},
    {"text": f"Передай токен {GH_DOC} коллеге 🙂", "expect": [{"category": "secret", "kind": "github_token", "match": GH_DOC}],
     "note": "offsets stay exact after non-ASCII text in every language"},
    {"text": "Key:\n" + pem_rsa + "\nEnd.", "expect": [{"category": "secret", "kind": "private_key", "match": pem_rsa}],
     "redacted": "Key:\n<PRIVATE_KEY>\nEnd.", "note": "a multi-line key is one finding"},
    {"text": "The AWS docs use AKIAIOSFODNN7EXAMPLE and wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY as placeholders.",
     "expect_none": ["secret"], "note": "AWS's documented example keys are placeholders"},
    {"text": "export GITHUB_TOKEN=ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "expect_none": ["secret"]},
    {"text": "export OPENAI_API_KEY=<YOUR_KEY>\nexport ANTHROPIC_API_KEY=${ANTHROPIC_API_KEY}", "expect_none": ["secret"]},
    {"text": "password = os.environ[\"DB_PASSWORD\"]\ntoken = get_token()\napi_key: str = Field(default=None)",
     "expect_none": ["secret"], "note": "code that reads secrets is not a secret"},
    {"text": "In Asia, many people reset their password every month; a basic token bucket limits the API.",
     "expect_none": ["secret"], "note": "prose with keywords but no credential"},
    {"text": "ghp_16C7e42F292c6912E7710c838347Ae178B4a", "expect_none": ["secret.github_token"],
     "note": "GitHub's documentation example fails the CRC-32 checksum"},
    {"text": "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----", "expect_none": ["secret"]},
    {"text": "Use postgres://user:password@localhost:5432/mydb for local development.", "expect_none": ["secret"]},
    {"text": "The JWT header eyJhbGciOiJIUzI1NiJ9 alone is not a token.", "expect_none": ["secret"]},
]

if __name__ == "__main__":
    emit(sys.argv[1] if len(sys.argv) > 1 else ".")
