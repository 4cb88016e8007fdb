package parley

import (
	"errors"
	"fmt"
)

// Sentinel errors. Callers test them with errors.Is; the API turns them into
// status codes and one-line messages at the edge.
var (
	// ErrNotFound: the contact, conversation or message does not exist.
	ErrNotFound = errors.New("not found")
	// ErrUnknownContact: a name or peer ID matches no contact.
	ErrUnknownContact = errors.New("unknown contact")
	// ErrAmbiguous: a name matches more than one contact.
	ErrAmbiguous = errors.New("ambiguous name")
	// ErrEmptyText: a message with no text.
	ErrEmptyText = errors.New("message text is empty")
	// ErrTextTooLong: a message longer than MaxTextBytes.
	ErrTextTooLong = errors.New("message text is too long")
	// ErrMalformed: bytes from a peer, a file or the API that do not decode.
	ErrMalformed = errors.New("malformed data")
	// ErrInvalidInvite: an invite code that is truncated, tampered or not an invite.
	ErrInvalidInvite = errors.New("invalid invite code")
	// ErrInvalidLinkCode: a code for linking a new device (PROTOCOL.md
	// §11.5) that is truncated, tampered or not a link code.
	ErrInvalidLinkCode = errors.New("invalid link code")
	// ErrLinkRefused: linking a device did not happen: the new device
	// refused the code (wrong, expired or used) or is not a freshly
	// started node, or the user declined; the error says which.
	ErrLinkRefused = errors.New("linking refused")
	// ErrDeviceUnreachable: the new device to link could not be reached.
	ErrDeviceUnreachable = errors.New("the new device could not be reached")
	// ErrLinkedDeviceWrite: this node is a device linked to another's
	// person (§11.6), and writing from it is not built yet: its messages
	// would go out under a device ID its contacts and groups do not know
	// (a stranger's request to a contact; refused by every group member).
	ErrLinkedDeviceWrite = errors.New("sending from a linked device is not built yet: write from the device you linked this one from")
	// ErrBadSignature: a signature that does not verify.
	ErrBadSignature = errors.New("bad signature")
	// ErrDataDirInUse: another process holds the data dir.
	ErrDataDirInUse = errors.New("data dir in use by another parley process")
	// ErrWrongPassphrase: the keystore does not open with the given passphrase.
	ErrWrongPassphrase = errors.New("wrong passphrase for the keystore")
	// ErrUnknownGroup: a name or ID matches no group.
	ErrUnknownGroup = errors.New("unknown group")
	// ErrNotAdmin: the operation needs an admin of the group.
	ErrNotAdmin = errors.New("only a group admin may do this")
	// ErrNotAuthor: only a message's author may edit it, and only its
	// author (or, in a group, an admin) delete it for everyone.
	ErrNotAuthor = errors.New("only the message's author may do this")
	// ErrNotMember: the peer is not a member of the group (or we are not).
	ErrNotMember = errors.New("not a member of the group")
	// ErrNoSpace: the disk cannot hold a file, or is too full for the store
	// to write safely (then the error is a *DiskFullError).
	ErrNoSpace = errors.New("not enough disk space")
	// ErrPrivateNetwork: the node is in a private network (a swarm key),
	// which keeps it off public networks such as the public IPFS DHT.
	ErrPrivateNetwork = errors.New("not possible in a private network")
	// ErrMailboxUnavailable: a mailbox could not be reached, or refused
	// (the error says which, and why).
	ErrMailboxUnavailable = errors.New("mailbox unavailable")
	// ErrRekeying: a member left a group and the new key an admin sends
	// has not reached us yet; until it does, what we write would be
	// readable by the one who left, so it is not sent.
	ErrRekeying = errors.New("the group's new key has not reached you yet")
	// ErrSetAtStart: a setting the node was started with (a `parley run`
	// flag) holds for the whole run; it changes after a restart without it.
	ErrSetAtStart = errors.New("set when the node was started")
	// ErrMailboxServiceOff: this node holds no mail for others, so it
	// cannot offer to.
	ErrMailboxServiceOff = errors.New("this node's mailbox service is off")
	// ErrInviterUnreachable: a short invite's owner could not be reached to
	// fetch their card. AddContact then keeps the code as a pending contact
	// (parley.PendingContact) and returns this only when it cannot: they
	// are a contact already, or too many contacts are pending.
	ErrInviterUnreachable = errors.New("the inviter could not be reached")
	// ErrNotRunning: no node is serving the data dir's API.
	ErrNotRunning = errors.New("parley is not running for this data dir")
	// ErrBlocked: the user blocked this peer; unblock them to write to
	// them.
	ErrBlocked = errors.New("blocked")
)

// DiskFullError: the disk holding the store has less free space than the
// store needs to write safely, so it takes no writes (it is read-only)
// until space is freed; reads go on. It is ErrNoSpace for errors.Is.
type DiskFullError struct {
	Free int64 // bytes free when it was measured
}

func (e *DiskFullError) Error() string {
	return fmt.Sprintf("disk full: %d MB free; Parley is read-only until space is freed", e.Free>>20)
}

// Is makes a DiskFullError match ErrNoSpace.
func (e *DiskFullError) Is(target error) bool { return target == ErrNoSpace }
