#!/usr/bin/env python3
"""Times the officials' files on the demo province: a base's roster import (~300 rows), a 10,000-row import, and
the members export of the whole province. Standard library only; bounded (every request has a timeout).

usage: bench/officials.py [BIN]        BIN defaults to target/release/hoi-ccb

The server is started by the script: with DATABASE_URL unset, on the embedded SQLite demo in a temporary
directory (seeded on first start); with DATABASE_URL=postgres://… set, on that database, which must be empty
(it is migrated and loaded with `seed-demo` first). Prints one Markdown table row per measurement.

Files are made from the server's own exports, so they are real template files:
  - base, unchanged: the base's members.xlsx re-imported as it is (every row `unchanged`);
  - base, new: the first 300 rows of that export with new card numbers (300 members admitted), as .xlsx and .csv;
  - 10,000 rows: the first 10,000 rows of the province's members.csv with new card numbers, imported by the
    province official as .xlsx (10,000 admitted), then the same file again (10,000 `unchanged`).
"""
import base64, csv, hashlib, hmac, io, json, os, subprocess, sys, tempfile, time, urllib.request, zipfile
from xml.sax.saxutils import escape

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/release/hoi-ccb"))
SECRET = "hoi-ccb-bench-secret-NOT-FOR-PRODUCTION!"
ADDR = os.environ.get("BIND_ADDR", "127.0.0.1:8093")
URL = f"http://{ADDR}"
TIMEOUT = 300


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def token(role, scope_gid=None):
    now = int(time.time())
    claims = {"sub": f"bench|{role.lower()}", "role": role, "iss": "hoi-ccb", "aud": "hoi-ccb-api",
              "iat": now, "exp": now + 3 * 3600}
    if scope_gid:
        claims["scope_id"] = scope_gid
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    sig = hmac.new(SECRET.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(sig)}"


def request(path, tok, data=None, headers=None):
    req = urllib.request.Request(URL + path, data=data, headers=dict(headers or {}))
    req.add_header("Authorization", f"Bearer {tok}")
    with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
        return resp.read()


def gql(tok, query, variables=None):
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    out = json.loads(request("/graphql", tok, body, {"Content-Type": "application/json"}))
    if out.get("errors"):
        raise SystemExit(f"GraphQL errors: {out['errors']}")
    return out["data"]


IMPORT = ("mutation($f: Upload!, $d: Boolean!) { importMembers(file: $f, dryRun: $d) "
          "{ created updated unchanged applied errors { row column message } } }")


def upload(tok, name, content, dry_run):
    boundary = "bench-" + hashlib.sha1(content).hexdigest()
    ops = json.dumps({"query": IMPORT, "variables": {"f": None, "d": dry_run}})
    parts = [("operations", None, ops.encode()), ("map", None, b'{"0":["variables.f"]}'), ("0", name, content)]
    body = io.BytesIO()
    for field, filename, value in parts:
        body.write(f"--{boundary}\r\n".encode())
        disposition = f'form-data; name="{field}"' + (f'; filename="{filename}"' if filename else "")
        body.write(f"Content-Disposition: {disposition}\r\n".encode())
        if filename:
            body.write(b"Content-Type: application/octet-stream\r\n")
        body.write(b"\r\n")
        body.write(value)
        body.write(b"\r\n")
    body.write(f"--{boundary}--\r\n".encode())
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "apollo-require-preflight": "true"}
    out = json.loads(request("/graphql", tok, body.getvalue(), headers))
    if out.get("errors"):
        raise SystemExit(f"import failed: {out['errors']}")
    result = out["data"]["importMembers"]
    if result["errors"]:
        raise SystemExit(f"import rows refused: {result['errors'][:5]}")
    return result


def column_name(i):
    name = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        name = chr(65 + r) + name
    return name


def xlsx(rows):
    """A minimal workbook with one sheet of inline strings (what a spreadsheet program reads as text cells)."""
    sheet = io.StringIO()
    sheet.write('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
    for r, row in enumerate(rows, start=1):
        sheet.write(f'<row r="{r}">')
        for c, value in enumerate(row):
            if value != "":
                sheet.write(f'<c r="{column_name(c)}{r}" t="inlineStr"><is><t>{escape(value)}</t></is></c>')
        sheet.write("</row>")
    sheet.write("</sheetData></worksheet>")
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    files = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        "</Types>",
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" xmlns:r="{rel}">'
        '<sheets><sheet name="Danh sách" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": sheet.getvalue(),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            z.writestr(name, text)
    return out.getvalue()


def csv_bytes(rows):
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return ("\ufeff" + out.getvalue()).encode()


def csv_rows(data):
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def renumbered(rows, count, prefix):
    """The header and `count` data rows (cycled if fewer) with new card numbers, so each row admits a member."""
    header, body = rows[0], rows[1:]
    card = header.index("Số thẻ hội viên")
    out = [header]
    for i in range(count):
        row = list(body[i % len(body)])
        row[card] = f"{prefix}{i:05d}"
        out.append(row)
    return out


def timed(label, rows, size, fn):
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    detail = ""
    if isinstance(result, dict) and "created" in result:
        detail = f"created {result['created']}, updated {result['updated']}, unchanged {result['unchanged']}"
    if not size and isinstance(result, bytes):
        size = len(result)
    print(f"| {label} | {rows:,} | {size / 1e6:.2f} MB | {elapsed:.2f} s | {detail} |", flush=True)
    return result


def peak_rss(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def main():
    work = tempfile.mkdtemp(prefix="hoi-bench-officials-")
    env = dict(os.environ, JWT_SECRET=SECRET, BIND_ADDR=ADDR, RUST_LOG=os.environ.get("RUST_LOG", "warn"))
    if env.get("DATABASE_URL"):
        subprocess.run([BIN, "migrate", "up"], env=env, cwd=work, check=True, timeout=600)
        subprocess.run([BIN, "seed-demo"], env=env, cwd=work, check=True, timeout=1800)
    log = open(os.path.join(work, "server.log"), "w")
    server = subprocess.Popen([BIN, "serve"], env=env, cwd=work, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(URL + "/readyz", timeout=2).read()
                break
            except OSError:
                if server.poll() is not None:
                    raise SystemExit(f"server exited; see {log.name}")
                time.sleep(0.5)
        else:
            raise SystemExit("server not ready after 5 minutes")
        run(server.pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def run(pid):
    admin = token("ADMIN")
    province = gql(admin, "{ provinces(first: 1) { nodes { id name stats { memberCount } } } }")["provinces"]["nodes"][0]
    members = province["stats"]["memberCount"]
    bases, after = [], None
    while True:
        page = gql(admin, """query($p: ID!, $a: String) { node(id: $p) { ... on Province {
            bases(first: 100, after: $a) { nodes { id name stats { memberCount } } pageInfo { hasNextPage endCursor } } } } }""",
                   {"p": province["id"], "a": after})["node"]["bases"]
        bases += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    base = min(bases, key=lambda b: (b["stats"]["memberCount"] < 300, abs(b["stats"]["memberCount"] - 300)))
    base_tok = token("BASE_OFFICIAL", base["id"])
    province_tok = token("PROVINCE_OFFICIAL", province["id"])
    print(f"\nprovince {province['name']}, {len(bases)} bases; base {base['name']}: "
          f"{base['stats']['memberCount']} members; binary {BIN}\n")
    print("| what | rows | file | time | result |")
    print("| --- | --- | --- | --- | --- |")

    base_xlsx = timed("export: the base's members.xlsx", base["stats"]["memberCount"], 0,
                      lambda: request(f"/exports/members.xlsx?unitId={base['id']}", base_tok))
    base_csv = request(f"/exports/members.csv?unitId={base['id']}", base_tok)
    n = base["stats"]["memberCount"]
    timed("base import, its own export re-imported (.xlsx, dry run)", n, len(base_xlsx),
          lambda: upload(base_tok, "base.xlsx", base_xlsx, True))
    timed("base import, its own export re-imported (.xlsx)", n, len(base_xlsx),
          lambda: upload(base_tok, "base.xlsx", base_xlsx, False))
    rows = csv_rows(base_csv)
    new_xlsx = xlsx(renumbered(rows, 300, "BX-"))
    timed("base import, 300 new members (.xlsx, dry run)", 300, len(new_xlsx),
          lambda: upload(base_tok, "new.xlsx", new_xlsx, True))
    timed("base import, 300 new members (.xlsx)", 300, len(new_xlsx),
          lambda: upload(base_tok, "new.xlsx", new_xlsx, False))
    new_csv = csv_bytes(renumbered(rows, 300, "BC-"))
    timed("base import, 300 new members (.csv)", 300, len(new_csv),
          lambda: upload(base_tok, "new.csv", new_csv, False))

    members += 600  # the two base imports above admitted 300 each
    province_csv = timed("export: the province's members.csv", members, 0,
                         lambda: request(f"/exports/members.csv?unitId={province['id']}", province_tok))
    province_xlsx = timed("export: the province's members.xlsx", members, 0,
                          lambda: request(f"/exports/members.xlsx?unitId={province['id']}", province_tok))
    all_rows = csv_rows(province_csv)
    print()
    big = xlsx(renumbered(all_rows, 10_000, "PX-"))
    timed("10,000 rows by the province official (.xlsx, dry run)", 10_000, len(big),
          lambda: upload(province_tok, "big.xlsx", big, True))
    timed("10,000 rows by the province official (.xlsx)", 10_000, len(big),
          lambda: upload(province_tok, "big.xlsx", big, False))
    timed("the same 10,000 rows again (.xlsx, all unchanged)", 10_000, len(big),
          lambda: upload(province_tok, "big.xlsx", big, False))
    big_csv = csv_bytes(renumbered(all_rows, 10_000, "PC-"))
    timed("10,000 rows by the province official (.csv)", 10_000, len(big_csv),
          lambda: upload(province_tok, "big.csv", big_csv, False))
    timed("export: the province's members.xlsx after the imports", members + 20_000, 0,
          lambda: request(f"/exports/members.xlsx?unitId={province['id']}", province_tok))
    print(f"\nserver peak RSS: {peak_rss(pid)}")


if __name__ == "__main__":
    main()
