import CollectorCore

/// Kubernetes metadata carried by kubelet's log paths (`KubeletLogPath`).
enum KubernetesPath {
    /// Resource attributes for `path`, empty when it is not a pod log path.
    static func attributes(_ path: String) -> [(String, String)] {
        guard let p = KubeletLogPath(path) else { return [] }
        return [
            ("k8s.namespace.name", p.namespace),
            ("k8s.pod.name", p.pod),
            ("k8s.pod.uid", p.uid),
            ("k8s.container.name", p.container),
        ]
    }
}
