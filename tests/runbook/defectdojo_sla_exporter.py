#!/usr/bin/env python3
# The runbook's Prometheus exporter (../shared/seeds/002_…, "Prometheus metric for SLA breach count"), verbatim.
# tests/api/rest.rs runs it with only DEFECTDOJO_URL, the token file and METRICS_FILE replaced.
import requests
import time

DEFECTDOJO_URL = "https://defectdojo.golemtrust.am"
TOKEN = open("/etc/defectdojo-metrics-token").read().strip()
METRICS_FILE = "/var/lib/prometheus-exporters/defectdojo-sla.prom"

severity_levels = ["Critical", "High", "Medium", "Low"]
metrics = []

for severity in severity_levels:
    response = requests.get(
        f"{DEFECTDOJO_URL}/api/v2/findings/",
        headers={"Authorization": f"Token {TOKEN}"},
        params={
            "active": True,
            "verified": True,
            "severity": severity,
            "is_Mitigated": False,
            "limit": 1,
        },
        timeout=30,
    )
    data = response.json()
    # DefectDojo marks SLA-breached findings with sla_expiration_date in the past
    breach_response = requests.get(
        f"{DEFECTDOJO_URL}/api/v2/findings/",
        headers={"Authorization": f"Token {TOKEN}"},
        params={
            "active": True,
            "severity": severity,
            "is_Mitigated": False,
            "outside_sla": True,
            "limit": 1000,
        },
        timeout=30,
    )
    breach_count = breach_response.json().get("count", 0)
    metrics.append(
        f'defectdojo_sla_breach_count{{severity="{severity.lower()}"}} {breach_count}'
    )

with open(METRICS_FILE, "w") as f:
    f.write("\n".join(metrics) + "\n")
