"""The baseline of bench/chatwoot_ingest.py: a bare Flask app answering GET /healthz, nothing else."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/healthz")
def healthz():
    return jsonify(status="ok")
