"""Checks of the chart's PrometheusRule (used by helm_render_check.py).

The rule groups are written out as a Prometheus rule file and handed to Debian's promtool
(package prometheus): `promtool check rules` parses every expression and template, and
`promtool test rules` feeds the alerts series shaped as collectord exposes them (the labels its
registry gives, plus the ones the ServiceMonitor's scrape adds: job, namespace, pod) and
expects each alert to fire for the pod in trouble and not for the healthy one. Every metric an
expression reads must be one collectord registers (read from Sources/), Prometheus' `up`, or
kube-state-metrics' restart counter.
"""
import glob
import os
import re
import subprocess
import tempfile

import yaml

PROMTOOL = os.environ.get("PROMTOOL", "/usr/bin/promtool")
ALERTS = {"CollectordRefusingSpans", "CollectordSpanExportsFailing", "CollectordLogExportsFailing",
          "CollectordExporterQueueNearlyFull", "CollectordDroppingLogLines", "CollectordLogFilesUnreadable",
          "CollectordFilelogCheckpointHeldBack", "CollectordPodRestarting", "CollectordDown"}
K8S_ALERTS = {"CollectordKubernetesAPIFailing", "CollectordPodTableEmpty"}  # with presets.kubernetesAttributes
SLO_ALERTS = {"SLOErrorBudgetBurnFast", "SLOErrorBudgetBurnSlow", "SlowResponseTime"}  # with prometheusRule.slo
NOT_COLLECTORD = {"up", "kube_pod_container_status_restarts_total"}
# What the spanmetrics connector makes, as the prometheus exporter names it (the SLO rules).
SPAN_METRICS = {"traces_span_metrics_calls_total", "traces_span_metrics_duration_milliseconds_bucket"}


def registered_metrics(root):
    """The metric names collectord's sources register (`\\(item)` is spans or log_records)."""
    names = set()
    for path in glob.glob(os.path.join(root, "Sources", "**", "*.swift"), recursive=True):
        with open(path, encoding="utf-8") as f:
            for name in re.findall(r'"((?:otelcol|collectord)_[a-z0-9_]*(?:\\\(item\)[a-z0-9_]*)*)"', f.read()):
                names |= {name.replace("\\(item)", item) for item in ("spans", "log_records")}
    return names


def _series(name, values, **labels):
    labels = {"job": "collectord", "namespace": "observability", **labels}
    return {"series": name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}", "values": values}


A, B = "collectord-a", "collectord-b"  # the pod in trouble, the healthy one


def _tests(summaries):
    """promtool's unit tests: `summaries` are the rules' summary annotations, by alert."""
    s = _series
    series = [
        s("otelcol_receiver_accepted_spans_total", "0+100x40", pod=A, receiver="otlp", transport="grpc"),
        s("otelcol_receiver_refused_spans_total", "0+20x40", pod=A, receiver="otlp", transport="grpc"),
        s("otelcol_receiver_accepted_spans_total", "0+100x40", pod=B, receiver="otlp", transport="grpc"),
        s("otelcol_receiver_refused_spans_total", "0x40", pod=B, receiver="otlp", transport="grpc"),
        s("otelcol_exporter_sent_spans_total", "0+100x40", pod=A, exporter="debug"),
        s("otelcol_exporter_send_failed_spans_total", "0+50x40", pod=A, exporter="debug"),
        s("otelcol_exporter_sent_spans_total", "0+100x40", pod=B, exporter="debug"),
        s("otelcol_exporter_send_failed_spans_total", "0x40", pod=B, exporter="debug"),
        s("otelcol_exporter_sent_log_records_total", "0+100x40", pod=A, exporter="loki"),
        s("otelcol_exporter_send_failed_log_records_total", "0x40", pod=A, exporter="loki"),
        # The exporter ring (size and capacity in batches) and the Loki disk queue (no capacity).
        s("otelcol_exporter_queue_size", "90x40", pod=A, exporter="loki", data_type="logs"),
        s("otelcol_exporter_queue_capacity", "100x40", pod=A, exporter="loki", data_type="logs"),
        s("otelcol_exporter_queue_size", "5000x40", pod=A, exporter="loki"),
        s("otelcol_exporter_queue_size", "10x40", pod=B, exporter="loki", data_type="logs"),
        s("otelcol_exporter_queue_capacity", "100x40", pod=B, exporter="loki", data_type="logs"),
        s("collectord_loki_dropped_entries_total", "0+60x40", pod=A, exporter="loki"),
        s("collectord_loki_dropped_entries_total", "0x40", pod=B, exporter="loki"),
        s("collectord_filelog_read_errors_total", "0+1x40", pod=A, receiver="filelog"),
        s("collectord_filelog_read_errors_total", "0x40", pod=B, receiver="filelog"),
        s("collectord_filelog_ack_failures_total", "0+6x40", pod=A, receiver="filelog"),
        s("collectord_filelog_ack_failures_total", "0x40", pod=B, receiver="filelog"),
        s("kube_pod_container_status_restarts_total", "0+1x40", job="kube-state-metrics", pod=A, container="collectord"),
        s("kube_pod_container_status_restarts_total", "3x40", job="kube-state-metrics", pod=B, container="collectord"),
        s("collectord_k8s_watch_failures_total", "0+2x40", pod=A, resource="pods"),
        s("collectord_k8s_watch_failures_total", "0x40", pod=A, resource="namespaces"),
        s("collectord_k8s_watch_failures_total", "0x40", pod=B, resource="pods"),
        s("otelcol_otelsvc_k8s_pod_table_size", "0x40", pod=A),
        s("otelcol_otelsvc_k8s_pod_table_size", "12x40", pod=B),
        # Span metrics of two services' server spans: checkout fails 2% of its requests (a 99.9%
        # objective: 20x its budget) with a p99 of 460 ms; payments 0.5% (99%: half its budget).
        s("traces_span_metrics_calls_total", "0+980x40", pod=A, service_name="checkout", span_kind="SPAN_KIND_SERVER",
          status_code="STATUS_CODE_UNSET"),
        s("traces_span_metrics_calls_total", "0+20x40", pod=A, service_name="checkout", span_kind="SPAN_KIND_SERVER",
          status_code="STATUS_CODE_ERROR"),
        s("traces_span_metrics_calls_total", "0+50x40", pod=A, service_name="checkout", span_kind="SPAN_KIND_CLIENT",
          status_code="STATUS_CODE_ERROR"),
        s("traces_span_metrics_calls_total", "0+995x40", pod=A, service_name="payments", span_kind="SPAN_KIND_SERVER",
          status_code="STATUS_CODE_UNSET"),
        s("traces_span_metrics_calls_total", "0+5x40", pod=A, service_name="payments", span_kind="SPAN_KIND_SERVER",
          status_code="STATUS_CODE_ERROR"),
        *[s("traces_span_metrics_duration_milliseconds_bucket", f"0+{n}x40", pod=A, service_name="checkout",
            span_kind="SPAN_KIND_SERVER", status_code="STATUS_CODE_UNSET", le=le)
          for le, n in (("100", 900), ("500", 1000), ("+Inf", 1000))],
        s("up", "0x40", pod=A, instance="10.0.0.1:8888"),
        s("up", "1x40", pod=B, instance="10.0.0.2:8888"),
    ]
    at = "35m"
    expect = {
        "CollectordRefusingSpans": [dict(pod=A, receiver="otlp", severity="warning",
                                         _d="collectord-a: receiver otlp refuses 16.67% of the spans it is sent.")],
        "CollectordSpanExportsFailing": [dict(pod=A, exporter="debug", severity="critical",
                                              _d="collectord-a: exporter debug fails to send 33.33% of its spans.")],
        "CollectordLogExportsFailing": [],
        "CollectordExporterQueueNearlyFull": [dict(pod=A, exporter="loki", data_type="logs", severity="warning",
                                                   _d="collectord-a: the logs queue of exporter loki is 90% full.")],
        "CollectordDroppingLogLines": [dict(pod=A, exporter="loki", severity="critical",
                                            _d="collectord-a: exporter loki drops 1.00 log lines a second.")],
        "CollectordLogFilesUnreadable": [dict(pod=A, receiver="filelog", severity="warning",
                                              _d="collectord-a: receiver filelog failed to read 10 log files in 10 minutes.")],
        "CollectordFilelogCheckpointHeldBack": [dict(
            pod=A, receiver="filelog", severity="warning",
            _d="collectord-a: deliveries of receiver filelog have been failing for 10 minutes; "
               "its checkpoint does not advance past them.")],
        "CollectordPodRestarting": [dict(pod=A, container="collectord", job="kube-state-metrics", severity="warning",
                                         _d="collectord-a restarted 30 times in 30 minutes.")],
        "CollectordKubernetesAPIFailing": [dict(
            pod=A, resource="pods", severity="warning",
            _d="collectord-a: k8sattributes has been failing to list or watch pods for 10 minutes.")],
        "CollectordPodTableEmpty": [dict(
            pod=A, severity="warning",
            _d="collectord-a: the k8sattributes pod table has been empty for 15 minutes; nothing gets Kubernetes attributes.")],
        "CollectordDown": [dict(pod=A, job="collectord", instance="10.0.0.1:8888", severity="critical",
                                _d="collectord-a has not answered a scrape for 5 minutes.")],
        "SLOErrorBudgetBurnFast": [dict(service_name="checkout", severity="critical",
                                        _d="checkout spends the error budget of its 99.9% objective 14.4 times too fast: "
                                           "2% of its requests failed over the last hour.")],
        "SLOErrorBudgetBurnSlow": [dict(service_name="checkout", severity="warning",
                                        _d="checkout spends the error budget of its 99.9% objective 6 times too fast: "
                                           "2% of its requests failed over the last 6 hours.")],
        "SlowResponseTime": [dict(service_name="checkout", severity="warning",
                                  _d="checkout: p99 latency 460 ms over 5 minutes, above its 300 ms target.")],
    }
    tests = []
    for alert, alerts in expect.items():
        if alert not in summaries:
            continue
        exp = []
        for labels in alerts:
            description = labels.pop("_d")
            exp.append({"exp_labels": {"namespace": "observability", **labels},
                        "exp_annotations": {"summary": summaries[alert], "description": description}})
        tests.append({"eval_time": at, "alertname": alert, "exp_alerts": exp})
    return {"rule_files": ["rules.yaml"], "evaluation_interval": "1m",
            "tests": [{"interval": "1m", "input_series": series, "alert_rule_test": tests}]}


def _promtool(*args, cwd):
    result = subprocess.run([PROMTOOL, *args], capture_output=True, text=True, cwd=cwd, timeout=120)
    assert result.returncode == 0, f"promtool {' '.join(args)}: exit {result.returncode}\n{result.stdout}{result.stderr}"
    return result.stdout


def check_rules(rule, root, kubernetes_attributes):
    groups = rule["spec"]["groups"]
    rules = [r for g in groups for r in g["rules"]]
    alerts = {r["alert"] for r in rules if "alert" in r}
    slo = any(g["name"] == "collectord-slo" for g in groups)
    expected = ALERTS | (K8S_ALERTS if kubernetes_attributes else set()) | (SLO_ALERTS if slo else set())
    assert alerts == expected, f"alerts {sorted(alerts)} != {sorted(expected)}"
    known = registered_metrics(root)
    assert "otelcol_exporter_send_failed_spans_total" in known, "no metric names found in Sources/"
    for r in rules:
        assert r["labels"]["severity"] in ("warning", "critical") and r.get("for"), r
        assert set(r["annotations"]) >= {"summary", "description"}, r
        used = set(re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{", r["expr"]))
        assert used, f"{r['alert']}: no metric found in {r['expr']}"
        unknown = used - known - NOT_COLLECTORD - SPAN_METRICS
        assert not unknown, f"{r['alert']} reads {sorted(unknown)}, which collectord does not register"
    summaries = {r["alert"]: r["annotations"]["summary"] for r in rules if "alert" in r}
    with tempfile.TemporaryDirectory(prefix="helm-render-rules-") as tmp:
        with open(os.path.join(tmp, "rules.yaml"), "w") as f:
            yaml.safe_dump({"groups": groups}, f, sort_keys=False)
        with open(os.path.join(tmp, "tests.yaml"), "w") as f:
            yaml.safe_dump(_tests(summaries), f, sort_keys=False)
        out = _promtool("check", "rules", "rules.yaml", cwd=tmp)
        assert f"SUCCESS: {len(rules)} rules found" in out, out
        _promtool("test", "rules", "tests.yaml", cwd=tmp)
