"""JUnit XML for CI systems: one <testsuite>, one <testcase> per lever or criterion (every CI reads this format)."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .runs import atomic_write_text

Status = Literal["passed", "failed", "skipped"]
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")  # XML 1.0 cannot carry these


@dataclass(frozen=True)
class Case:
    """One testcase: `classname` groups cases (e.g. the task or the lever), `message` says why it failed or skipped,
    `output` is free text shown beside it (scores, intervals), `properties` are name/value pairs."""

    classname: str
    name: str
    status: Status = "passed"
    message: str = ""
    output: str = ""
    seconds: float = 0.0
    properties: dict[str, str] = field(default_factory=dict)


def _text(value: object) -> str:
    return _NOT_XML.sub("\ufffd", str(value))


def junit_xml(suite: str, cases: list[Case]) -> str:
    """The JUnit XML document (a <testsuites> root holding one <testsuite>) as text."""
    failures = sum(c.status == "failed" for c in cases)
    skipped = sum(c.status == "skipped" for c in cases)
    seconds = f"{sum(c.seconds for c in cases):.3f}"
    root = ET.Element("testsuites", name=_text(suite), tests=str(len(cases)), failures=str(failures),
                      errors="0", skipped=str(skipped), time=seconds)
    node = ET.SubElement(root, "testsuite", name=_text(suite), tests=str(len(cases)), failures=str(failures),
                         errors="0", skipped=str(skipped), time=seconds)
    for case in cases:
        element = ET.SubElement(node, "testcase", classname=_text(case.classname), name=_text(case.name),
                                time=f"{case.seconds:.3f}")
        if case.properties:
            props = ET.SubElement(element, "properties")
            for key, value in case.properties.items():
                ET.SubElement(props, "property", name=_text(key), value=_text(value))
        if case.status == "failed":
            ET.SubElement(element, "failure", message=_text(case.message), type="advise").text = _text(case.message)
        elif case.status == "skipped":
            ET.SubElement(element, "skipped", message=_text(case.message))
        if case.output:
            ET.SubElement(element, "system-out").text = _text(case.output)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(path: Path, suite: str, cases: list[Case]) -> None:
    """Write the JUnit file atomically (a full disk or an unwritable folder is a one-line error)."""
    atomic_write_text(Path(path), junit_xml(suite, cases))
