/// Kubernetes metadata carried by kubelet's log paths:
/// `/var/log/pods/<namespace>_<pod>_<uid>/<container>/<restart>.log`.
enum KubernetesPath {
    /// Resource attributes for `path`, empty when it is not a pod log path.
    static func attributes(_ path: String) -> [(String, String)] {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        guard let podsIndex = parts.lastIndex(of: "pods"), parts.count == podsIndex + 4,
              parts[podsIndex + 3].hasSuffix(".log") else { return [] }
        let podDir = parts[podsIndex + 1].split(separator: "_", omittingEmptySubsequences: false)
        // Namespaces and pod names cannot contain "_" (DNS labels), so there are exactly 3 parts.
        guard podDir.count == 3, !podDir[0].isEmpty, !podDir[1].isEmpty else { return [] }
        return [
            ("k8s.namespace.name", String(podDir[0])),
            ("k8s.pod.name", String(podDir[1])),
            ("k8s.pod.uid", String(podDir[2])),
            ("k8s.container.name", String(parts[podsIndex + 2])),
        ]
    }
}
