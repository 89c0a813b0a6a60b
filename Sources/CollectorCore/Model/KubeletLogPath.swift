/// A container log path as kubelet lays it out:
/// `/var/log/pods/<namespace>_<pod>_<uid>/<container>/<restart>.log`. The `filelog` receiver
/// takes resource attributes from it; `k8sattributes` finds the pod by its uid.
public struct KubeletLogPath: Sendable, Equatable {
    public var namespace: String
    public var pod: String
    public var uid: String
    public var container: String

    /// Nil when `path` is not a pod log path.
    public init?(_ path: String) {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        guard let podsIndex = parts.lastIndex(of: "pods"), parts.count == podsIndex + 4,
              parts[podsIndex + 3].hasSuffix(".log") else { return nil }
        let podDir = parts[podsIndex + 1].split(separator: "_", omittingEmptySubsequences: false)
        // Namespaces and pod names cannot contain "_" (DNS labels), so there are exactly 3 parts.
        guard podDir.count == 3, !podDir[0].isEmpty, !podDir[1].isEmpty else { return nil }
        namespace = String(podDir[0])
        pod = String(podDir[1])
        uid = String(podDir[2])
        container = String(parts[podsIndex + 2])
    }
}
