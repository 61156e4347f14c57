#!/usr/bin/env python3
"""Export benchmark (run by bench/exports.sh): a 20-page project exported in each format by a
running `socle serve`; prints, per format and round, the export's time (from its request to
its end, as the server recorded them, and as the client waited) and the server's peak memory
during it (VmHWM, reset before each export through /proc/PID/clear_refs).

    python3 bench/exports.py BASE_URL SERVER_PID [ROUNDS]
"""

import io
import json
import struct
import sys
import time
import urllib.request
import uuid
import zlib
from datetime import datetime

BASE, PID = sys.argv[1], int(sys.argv[2])
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
PAGES = 20


def call(method, path, body=None, token=None, raw=None, content_type="application/json"):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(BASE + path, data=data, method=method)
    if data is not None:
        req.add_header("content-type", content_type)
    if token:
        req.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(req) as r:
        text = r.read()
        return json.loads(text) if text else None


def png(w, h):
    """A real RGB PNG of w×h (a gradient), for the page images."""
    rows = b"".join(b"\x00" + bytes(v for x in range(w) for v in (x * 255 // w, y * 255 // h, 128)) for y in range(h))

    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def multipart(fields, file_field, file_name, file_bytes):
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for k, v in fields.items():
        out.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n".encode())
    out.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{file_field}\"; filename=\"{file_name}\"\r\n"
              f"Content-Type: application/octet-stream\r\n\r\n".encode())
    out.write(file_bytes)
    out.write(f"\r\n--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def rss(field):
    with open(f"/proc/{PID}/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])  # KiB
    return 0


def main():
    email = f"bench-{uuid.uuid4().hex[:8]}@exports.example"
    call("POST", "/api/v1/foundation/auth/register",
         {"email": email, "password": "Bench-password-1", "first_name": "Bench", "last_name": "Mark"})
    token = call("POST", "/api/v1/foundation/auth/login", {"email": email, "password": "Bench-password-1"})["access_token"]
    org = call("POST", "/api/v1/foundation/organizations", {"name": "Bench"}, token)["id"]
    project = call("POST", "/api/v1/studio/projects", {"organization_id": org, "name": "Twenty pages"}, token)["id"]
    call("POST", f"/api/v1/studio/projects/{project}/collections",
         {"name": "messages", "fields": [{"name": "email", "type": "text"}, {"name": "body", "type": "text"}]}, token)
    # Five photos (1920×1080), each on four pages.
    images = []
    photo = png(1920, 1080)
    for i in range(5):
        body, ctype = multipart({"organization_id": org, "public": "true"}, "file", f"photo{i}.png", photo)
        images.append(call("POST", "/api/v1/files", raw=body, token=token, content_type=ctype)["url"])
    for i in range(PAGES):
        slug = "home" if i == 0 else f"page-{i}"
        doc = {"type": "page", "children": [
            {"type": "section", "props": {"padding": "lg", "background": "muted"}, "children": [
                {"type": "heading", "props": {"text": f"Page {i}: fresh bread & pastries", "level": 1}},
                {"type": "image", "props": {"src": images[i % 5], "alt": f"Photo {i}"}},
                {"type": "text", "props": {"text": "Lorem ipsum dolor sit amet. " * 20}},
                {"type": "link", "props": {"label": "Next", "href": f"/page-{(i + 1) % PAGES or 1}.html"}}]},
            {"type": "section", "props": {"padding": "md"}, "children": [
                {"type": "form", "props": {"collection": "messages"}, "children": [
                    {"type": "input", "props": {"field": "email", "label": "Email", "input_type": "email"}},
                    {"type": "input", "props": {"field": "body", "label": "Message", "input_type": "textarea"}}]},
                {"type": "list", "props": {"collection": "messages", "per_page": 10}}]},
            {"type": "footer", "props": {"text": "© Bench", "links": [{"label": "Home", "href": "/"}]}}]}
        call("POST", f"/api/v1/studio/projects/{project}/pages", {"name": f"Page {i}", "slug": slug, "document": doc}, token)
    print(f"# {PAGES} pages, 5 images of 1920x1080 on them; server pid {PID}; idle RSS {rss('VmRSS')} KiB")
    print("format\tround\tserver_ms\twaited_ms\tpeak_rss_kib\tzip_bytes")
    for round_ in range(1, ROUNDS + 1):
        for fmt in ["html", "pwa", "react", "flutter"]:
            with open(f"/proc/{PID}/clear_refs", "w") as f:
                f.write("5")  # resets VmHWM (the peak RSS) to the current RSS
            start = time.monotonic()
            e = call("POST", "/api/v1/exports", {"project_id": project, "format": fmt}, token)
            while e["status"] not in ("succeeded", "failed"):
                time.sleep(0.02)
                e = call("GET", f"/api/v1/exports/{e['id']}", token=token)
            waited = (time.monotonic() - start) * 1000
            if e["status"] != "succeeded":
                raise SystemExit(f"{fmt} export failed: {e}")
            server = (datetime.fromisoformat(e["finished_at"].replace("Z", "+00:00"))
                      - datetime.fromisoformat(e["created_at"].replace("Z", "+00:00"))).total_seconds() * 1000
            print(f"{fmt}\t{round_}\t{server:.0f}\t{waited:.0f}\t{rss('VmHWM')}\t{e['size']}")


main()
