// Package identity holds who a Parley user is and the cryptography that
// proves it:
//
//   - Identity: the Ed25519 identity key (its libp2p peer ID is the user's
//     address), the MLKEM768-X25519 HPKE key that others encrypt to, and the
//     random master key of the encrypted message store.
//   - The keystore: one file in the data dir holding those keys, sealed with
//     the user's passphrase (an age file, scrypt recipient) or, without a
//     passphrase, protected only by file mode 0600 (and a warning in the log).
//   - Contact cards: {peer ID, name, HPKE public key, addresses} signed by the
//     identity key, and invite codes: a card as one copyable, checksummed,
//     QR-friendly line.
//   - Safety numbers: a short fingerprint of two identities that both users
//     see identically and can compare out of band.
//   - Envelope crypto: establishing a DM sending key with HPKE, and sealing,
//     signing, parsing and opening envelopes (see pb/envelope.proto at the
//     module root).
//   - Persons and devices (PROTOCOL.md §11): a person's chain of keys, each
//     handed to the next by a succession both sign (PersonKeys), and the
//     device list the current key and its author sign (SignDeviceList,
//     ParseDeviceList), with the rules for taking a newer one
//     (DeviceList.Accepts); and for linking a new device, link codes
//     (EncodeLinkCode, ParseLinkCode: an invite's format with its own
//     version), the safety code both devices show (LinkSafetyCode), and the
//     rules for a code's secret (PendingLink: 10 minutes, one link); and
//     the keystore's side of a link (Identity.WithPerson, WriteKeystore).
//     node/link sends them (/parley/link/1.0.0, PROTOCOL.md §11.6).
//
// It does not decide whom to trust, store contacts, decide when to rotate
// keys or send anything: the node does, with these primitives. Every
// decoder here caps sizes and returns errors wrapping the sentinels of
// package parley (ErrMalformed, ErrBadSignature, ErrInvalidInvite,
// ErrInvalidLinkCode, ErrWrongPassphrase); none panics on hostile input.
// The package holds no global state.
//
// PROTOCOL.md at the module root specifies the wire formats; the exported
// constants and SignedPayload here are the reference.
package identity
