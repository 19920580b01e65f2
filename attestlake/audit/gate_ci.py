"""The gate's answer where CI shows it: SARIF (one result per reason the artifact was
refused; none when it passed) and JUnit XML (one test case, failed with every reason)."""

from __future__ import annotations

import hashlib
from xml.etree import ElementTree as ET

from attestlake.audit.gate import GateResult
from attestlake.audit.report_ci import junit_text, sarif_log

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
    return sarif_log(
        [rule], results, properties={"subject": result.subject, "digest": result.digest}
    )


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
    return junit_text(root)
