import CollectorTesting
import Foundation
import Testing

extension E2E {
    /// The Helm chart in deploy/helm/collectord, rendered with the real Helm (Helm's Go SDK from
    /// the helm-python-sdk wheel in the venv) in daemonset, deployment and statefulset modes, with
    /// the presets on and off, the ServiceMonitor, PrometheusRule and NetworkPolicy, a `config`
    /// merged over the presets, and the gateway tier (a gateway StatefulSet with
    /// presets.gateway, HPA, PDB and headless Service; a gateway Deployment with the HPA on CPU;
    /// an agent with presets.loadBalancing): every object checked against the Kubernetes API's
    /// schema (the official client's models; pinned schemas for the Prometheus Operator's
    /// kinds), the RBAC, downward API, host ports, mounts and security settings that matter,
    /// the drain chain (preStop sleep, --shutdown-timeout, grace period), the alert rules
    /// through promtool, deploy/kubernetes/daemonset.yaml against the default render, values
    /// the chart must refuse, every rendered collector config through `collectord validate`
    /// and the container's flags against `collectord run --help`.
    @Suite("Helm chart")
    struct HelmChart {
        @Test("the chart renders valid objects and configs collectord accepts")
        func renderCheck() async throws {
            let collectord = try RepoPaths.requireCollectord()
            let result = try await PythonClient.run(
                script: "helm_render_check.py", args: ["--collectord", collectord.path], timeout: .seconds(180))
            #expect(result.exitCode == 0, "\(result.stdout)\n\(result.stderr)")
            #expect(result.stdout.contains(" passed, 0 failed"), "\(result.stdout)")
        }
    }
}
