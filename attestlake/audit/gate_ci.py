"""The gate's answer where CI shows it: SARIF (one result per reason the artifact was
refused; none when it passed) and JUnit XML (one test case, failed with every reason)."""

from __future__ import annotations

import hashlib
import json
from xml.etree import ElementTree as ET

from attestlake._internal.version import __version__
from attestlake.audit.gate import GateResult
from attestlake.audit.report_ci import SARIF_SCHEMA

RULE = "attestlake-gate"


def gate_sarif(result: GateResult) -> str:
    """The answer as a SARIF 2.1.0 log: a rule for the gate, an ``error`` result per reason."""
    results = [
        {
            "ruleId": RULE,
            "ruleIndex": 0,
            "level": "error",
            "message": {"text": f"{result.subject} may not ship: {reason}"},
            "locations": [
                {
                    "physicalLocation": {"artifactLocation": {"uri": "attestlake/gate"}},
                    "logicalLocations": [{"name": result.digest, "kind": "object"}],
                }
            ],
            "partialFingerprints": {
                "attestlakeGate/v1": hashlib.sha256(
                    f"{result.digest}\0{reason}".encode()
                ).hexdigest()
            },
        }
        for reason in result.reasons
    ]
    rule = {
        "id": RULE,
        "name": "deploy-gate",
        "shortDescription": {"text": "The artifact may not ship"},
        "fullDescription": {
            "text": "attestlake gate: a verified, successful run of an inventoried workflow must "
            "have built the artifact against the newest contract revision, violating no gating "
            "policy."
        },
        "defaultConfiguration": {"level": "error"},
        "properties": {"security-severity": "8.0", "tags": ["security", "supply-chain"]},
    }
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "attestlake",
                        "version": __version__,
                        "informationUri": "https://attestlake.dev",
                        "rules": [rule],
                    }
                },
                "properties": {"subject": result.subject, "digest": result.digest},
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def gate_junit(result: GateResult) -> str:
    """The answer as JUnit XML: one case, named after the subject, failed with the reasons."""
    root = ET.Element("testsuites", name="attestlake gate")
    suite = ET.SubElement(root, "testsuite", name="attestlake.gate")
    case = ET.SubElement(suite, "testcase", classname="attestlake.gate", name=result.subject)
    case.set("time", "0")
    if not result.passed:
        failure = ET.SubElement(
            case, "failure", message=f"{result.subject} may not ship", type="gate"
        )
        failure.text = "\n".join(f"- {reason}" for reason in result.reasons)
    failed = "0" if result.passed else "1"
    for element in (suite, root):
        element.set("tests", "1")
        element.set("failures", failed)
    suite.set("errors", "0")
    suite.set("skipped", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
