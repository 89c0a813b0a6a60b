/// The fields of Pods and Namespaces enrichment uses; everything else in the API's JSON is
/// skipped while decoding, so memory holds only these.
public struct KubeObjectMeta: Decodable, Sendable, Equatable {
    public struct OwnerReference: Decodable, Sendable, Equatable {
        public var kind: String
        public var name: String
        public var uid: String?
    }
    public var name: String?
    public var namespace: String?
    public var uid: String?
    public var resourceVersion: String?
    public var creationTimestamp: String?
    public var deletionTimestamp: String?
    public var labels: [String: String]?
    public var annotations: [String: String]?
    public var ownerReferences: [OwnerReference]?
}

public struct KubePod: Decodable, Sendable, Equatable {
    public struct Spec: Decodable, Sendable, Equatable {
        public struct Container: Decodable, Sendable, Equatable {
            public var name: String
            public var image: String?
        }
        public var nodeName: String?
        public var hostname: String?
        public var hostNetwork: Bool?
        public var containers: [Container]?
        public var initContainers: [Container]?
    }
    public struct ContainerStatus: Decodable, Sendable, Equatable {
        public var name: String
        public var containerID: String?
        public var image: String?
        public var imageID: String?
        public var restartCount: Int?
    }
    public struct PodIP: Decodable, Sendable, Equatable { public var ip: String }
    public struct Status: Decodable, Sendable, Equatable {
        public var phase: String?
        public var podIP: String?
        public var podIPs: [PodIP]?
        public var startTime: String?
        public var containerStatuses: [ContainerStatus]?
        public var initContainerStatuses: [ContainerStatus]?
    }
    public var metadata: KubeObjectMeta
    public var spec: Spec?
    public var status: Status?
}

public struct KubeNamespace: Decodable, Sendable, Equatable {
    public var metadata: KubeObjectMeta
}

/// A `...List` answer.
public struct KubeList<Item: Decodable & Sendable>: Decodable, Sendable {
    public struct Meta: Decodable, Sendable {
        public var resourceVersion: String?
        public var `continue`: String?
    }
    public var metadata: Meta
    public var items: [Item]
}

/// A `Status` (error answers, and the object of a watch `ERROR` event).
public struct KubeStatus: Decodable, Sendable, Equatable {
    public var code: Int?
    public var reason: String?
    public var message: String?
}

/// One line of a watch stream.
public enum KubeWatchEvent<Object: Decodable & Sendable>: Sendable {
    case added(Object)
    case modified(Object)
    case deleted(Object)
    /// Only the resourceVersion to resume from.
    case bookmark(resourceVersion: String)
    case error(KubeStatus)
}
