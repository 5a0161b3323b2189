"""Parses Prometheus text (stdin) with the official client's parser and prints the families
as JSON: {"name": {"type": ..., "help": ..., "samples": [[sample_name, {labels}, value]]}}.
A text the parser refuses exits with status 1 and the parser's message."""
import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families

try:
    out = {}
    for fam in text_string_to_metric_families(sys.stdin.read()):
        samples = []
        for s in fam.samples:
            v = s.value
            samples.append([s.name, s.labels, "+Inf" if v == math.inf else v])
        out[fam.name] = {"type": fam.type, "help": fam.documentation, "samples": samples}
except Exception as e:  # the parser's own error, for the spec to show
    print("unparsable: %s" % e, file=sys.stderr)
    sys.exit(1)
print(json.dumps(out))
