package storage

// OpenPlaintext opens a store written unencrypted and uncompressed, for
// tests that search its raw files (Options.Plaintext).
func OpenPlaintext(opts Options) (*DB, error) {
	opts.Plaintext = true
	return Open(opts)
}
