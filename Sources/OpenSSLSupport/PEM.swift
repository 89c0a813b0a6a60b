internal import COpenSSL

/// PEM text in memory (a kubeconfig's `*-data`, a config's `cert_pem`) read into OpenSSL objects.
enum PEM {
    /// An `X509` owned by Swift (freed with the value).
    final class Certificate {
        let pointer: OpaquePointer
        init(_ pointer: OpaquePointer) { self.pointer = pointer }
        deinit { X509_free(pointer) }
    }

    /// An `EVP_PKEY` owned by Swift.
    final class PrivateKey {
        let pointer: OpaquePointer
        init(_ pointer: OpaquePointer) { self.pointer = pointer }
        deinit { EVP_PKEY_free(pointer) }
    }

    /// Every certificate in `pem`, in order; at least one (else `ifNone` is the error).
    static func certificates(_ pem: [UInt8], ifNone: String) throws(OpenSSLError) -> [Certificate] {
        OpenSSL.clearErrors()
        let read: [Certificate]? = pem.withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            var all: [Certificate] = []
            while let certificate = PEM_read_bio_X509(bio, nil, nil, nil) { all.append(Certificate(certificate)) }
            return all
        }
        OpenSSL.clearErrors()  // the end of the data reads as an error
        guard let read, !read.isEmpty else { throw OpenSSLError(ifNone) }
        return read
    }

    static func privateKey(_ pem: [UInt8]) throws(OpenSSLError) -> PrivateKey {
        OpenSSL.clearErrors()
        let key: OpaquePointer? = pem.withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PrivateKey(bio, nil, nil, nil)
        }
        guard let key else { throw OpenSSLError.last("private key: no PEM private key") }
        return PrivateKey(key)
    }
}
