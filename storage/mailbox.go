package storage

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
	parley "github.com/parley-im/parley"
)

// The mailbox side of the store: the mail this node holds for owners who
// chose it as their mailbox (node/mailbox). It is separate from everything
// else the store holds: the envelopes here are not ours, never opened, and
// kept only until their owner acknowledges them or they expire.
//
// Every write keeps the owner's counters (count, bytes) in the account
// record, in the same transaction as the mail it counts, so the quota never
// drifts from what is stored, even across a crash.
//
// Expiry is a sweep (ExpireMail), not badger's TTL: badger would drop an
// expired entry without telling anyone, and the counters would drift. Mail
// of one owner is keyed by arrival order, so what expired is a prefix of it.
// Badger's TTL is used for one thing only: the tombstone an Ack leaves under
// the envelope's ID, which makes a deposit retried after the owner took the
// mail a no-op until the mail would have expired anyway; tombstones are
// not counted, so nothing drifts when badger drops them.

// MailboxOwner identifies an owner at a mailbox: SHA-256 of the owner's
// identity public key (node/mailbox.OwnerID).
type MailboxOwner [32]byte

// MailboxAccount is what a mailbox keeps about one owner.
type MailboxAccount struct {
	Owner MailboxOwner
	// OwnerKey is the owner's identity public key as libp2p marshals it;
	// it verifies the owner's fetches.
	OwnerKey []byte
	// IssuedAt and ExpiresAt are the registration's (whole seconds).
	IssuedAt, ExpiresAt time.Time
	// DepositKey is K_dep: deposit capabilities are MACs under it.
	DepositKey [32]byte
	// Revoked lists capability nonces no longer accepted.
	Revoked [][16]byte

	// Kept by the store: what the owner's mail takes, and the next mail
	// sequence number (arrival order).
	Count, Bytes int64
	NextSeq      uint64
}

// RevokedNonce reports whether nonce was revoked.
func (a MailboxAccount) RevokedNonce(nonce [16]byte) bool {
	for _, r := range a.Revoked {
		if r == nonce {
			return true
		}
	}
	return false
}

// MailboxQuota bounds one owner's mail. Both fields must be positive.
type MailboxQuota struct {
	Count, Bytes int64
}

// Mail is one envelope held for an owner.
type Mail struct {
	Seq      uint64 // arrival order within the owner's mail: the fetch cursor
	ID       parley.EnvelopeID
	StoredAt time.Time
	Envelope []byte
}

// Mailbox errors.
var (
	// ErrMailboxFull: the deposit would take the owner past its quota.
	ErrMailboxFull = errors.New("mailbox full")
	// ErrNotRegistered: no account for this owner, or it expired.
	ErrNotRegistered = errors.New("owner not registered at this mailbox")
	// ErrStaleRegistration: the account holds a registration issued at
	// the same time or later.
	ErrStaleRegistration = errors.New("registration is not newer than the one held")
	// ErrTooManyAccounts: registering a new owner would pass the most
	// accounts the mailbox keeps.
	ErrTooManyAccounts = errors.New("the mailbox serves as many owners as it will")
)

// mailOverhead is what one mail costs beyond its envelope: its keys, the
// index entry and the stored time, so that a flood of tiny envelopes
// cannot hold more than the byte quota says.
const mailOverhead = 128

// MailCost is what an envelope of n bytes takes from its owner's byte quota.
func MailCost(n int) int64 { return int64(n) + mailOverhead }

// RegisterMailbox stores a registration: a new account, or a newer
// registration for an existing one (its key, expiry and revocations
// replace the old; its mail and counters stay). A registration not newer
// than the one held is refused with ErrStaleRegistration, unless it is the
// very same one, which is accepted again and changes nothing. A new
// account past maxAccounts (> 0) is refused with ErrTooManyAccounts.
func (db *DB) RegisterMailbox(a MailboxAccount, maxAccounts int64) (MailboxAccount, error) {
	if len(a.OwnerKey) == 0 || a.ExpiresAt.Before(a.IssuedAt) {
		return MailboxAccount{}, fmt.Errorf("storage: register mailbox: %w: account %x", parley.ErrMalformed, a.Owner[:4])
	}
	var result MailboxAccount
	err := db.submit(1, func(w *wtxn, _ int) error {
		old, found, err := readMailboxAccount(w.txn, a.Owner)
		if err != nil {
			return err
		}
		if found {
			if !a.IssuedAt.After(old.IssuedAt) {
				if sameRegistration(old, a) {
					result = old
					return nil
				}
				return ErrStaleRegistration
			}
			a.Count, a.Bytes, a.NextSeq = old.Count, old.Bytes, old.NextSeq
		} else {
			n, err := getCounter(w.txn, keyMailboxAccounts)
			if err != nil {
				return err
			}
			if maxAccounts > 0 && int64(n) >= maxAccounts {
				return ErrTooManyAccounts
			}
			if err := w.txn.Set([]byte(keyMailboxAccounts), encodeUint64(n+1)); err != nil {
				return err
			}
			a.Count, a.Bytes, a.NextSeq = 0, 0, 0
		}
		result = a
		return w.txn.Set(mailboxAccountKey(a.Owner), encodeMailboxAccount(a))
	})
	if err != nil {
		return MailboxAccount{}, fmt.Errorf("storage: register mailbox %x: %w", a.Owner[:4], err)
	}
	return result, nil
}

func sameRegistration(a, b MailboxAccount) bool {
	if !a.IssuedAt.Equal(b.IssuedAt) || !a.ExpiresAt.Equal(b.ExpiresAt) || a.DepositKey != b.DepositKey ||
		!bytes.Equal(a.OwnerKey, b.OwnerKey) || len(a.Revoked) != len(b.Revoked) {
		return false
	}
	for i := range a.Revoked {
		if a.Revoked[i] != b.Revoked[i] {
			return false
		}
	}
	return true
}

// MailboxAccountOf returns an owner's account, or ErrNotRegistered (also
// when its registration expired before now).
func (db *DB) MailboxAccountOf(owner MailboxOwner, now time.Time) (MailboxAccount, error) {
	var a MailboxAccount
	err := db.view(func(txn *badger.Txn) error {
		var err error
		a, err = liveAccount(txn, owner, now)
		return err
	})
	if err != nil {
		return MailboxAccount{}, fmt.Errorf("storage: mailbox account %x: %w", owner[:4], err)
	}
	return a, nil
}

// DepositMail stores an envelope for owner, durably, before it returns.
// admit sees the owner's account inside the write's transaction (the
// mailbox checks the depositor's capability there, so that a registration
// revoking it cannot slip in between) and refuses with its error.
//
// stored is false when the mailbox holds the envelope already, or held it
// until its owner acknowledged it: a retried deposit stores nothing twice.
// A deposit past q fails with ErrMailboxFull, one for an owner without a
// live account with ErrNotRegistered, and one on a full disk with a
// *parley.DiskFullError; none of them writes anything.
func (db *DB) DepositMail(owner MailboxOwner, env []byte, at time.Time, q MailboxQuota, admit func(MailboxAccount) error) (stored bool, err error) {
	if len(env) == 0 || q.Count <= 0 || q.Bytes <= 0 {
		return false, fmt.Errorf("storage: deposit mail: %w: %d-byte envelope, quota %+v", parley.ErrMalformed, len(env), q)
	}
	id := parley.NewEnvelopeID(env)
	at = at.Truncate(time.Second)
	err = db.submit(1, func(w *wtxn, _ int) error {
		stored = false
		a, err := liveAccount(w.txn, owner, at)
		if err != nil {
			return err
		}
		if err := admit(a); err != nil {
			return err
		}
		held, err := exists(w.txn, mailIndexKey(owner, id))
		if err != nil || held {
			return err
		}
		cost := MailCost(len(env))
		if a.Count+1 > q.Count || a.Bytes+cost > q.Bytes {
			return ErrMailboxFull
		}
		seq := a.NextSeq
		a.NextSeq++
		a.Count++
		a.Bytes += cost
		if err := w.txn.Set(mailKey(owner, seq), encodeMail(at, env)); err != nil {
			return err
		}
		if err := w.txn.Set(mailIndexKey(owner, id), encodeUint64(seq)); err != nil {
			return err
		}
		stored = true
		return w.txn.Set(mailboxAccountKey(owner), encodeMailboxAccount(a))
	})
	if err != nil {
		return false, fmt.Errorf("storage: deposit mail for %x: %w", owner[:4], err)
	}
	return stored, nil
}

// MailPage returns an owner's mail after the cursor seq `after` (nil: from
// the oldest), oldest first: at most limit envelopes and, past the first,
// no more than maxBytes of envelopes. Mail stored before notBefore (expired,
// not yet swept) is skipped. more reports whether mail follows.
func (db *DB) MailPage(owner MailboxOwner, after *uint64, limit, maxBytes int, notBefore time.Time) (page []Mail, more bool, err error) {
	if limit <= 0 {
		return nil, false, fmt.Errorf("storage: mail page: %w: limit %d", parley.ErrMalformed, limit)
	}
	err = db.view(func(txn *badger.Txn) error {
		pre := mailPrefix(owner)
		seek := pre
		if after != nil {
			seek = mailKey(owner, *after+1)
			if *after == ^uint64(0) {
				return nil
			}
		}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: pre, PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		size := 0
		for it.Seek(seek); it.ValidForPrefix(pre); it.Next() {
			if len(page) >= limit {
				more = true
				return nil
			}
			item := it.Item()
			seq, err := mailKeySeq(item.Key())
			if err != nil {
				return err
			}
			v, err := item.ValueCopy(nil)
			if err != nil {
				return fmt.Errorf("storage: read mail: %w", err)
			}
			at, env, err := decodeMail(v)
			if err != nil {
				return err
			}
			if at.Before(notBefore) {
				continue
			}
			if len(page) > 0 && size+len(env) > maxBytes {
				more = true
				return nil
			}
			size += len(env)
			page = append(page, Mail{Seq: seq, ID: parley.NewEnvelopeID(env), StoredAt: at, Envelope: env})
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("storage: mail of %x: %w", owner[:4], err)
	}
	return page, more, nil
}

// AckMail deletes the owner's mail with these IDs and returns how many it
// held. Each leaves a tombstone under its ID for tombstoneTTL, so that a
// deposit retried meanwhile stores nothing. IDs it does not hold are
// ignored.
func (db *DB) AckMail(owner MailboxOwner, ids []parley.EnvelopeID, tombstoneTTL time.Duration) (int, error) {
	deleted := make([]bool, len(ids))
	err := db.submit(len(ids), func(w *wtxn, i int) error {
		deleted[i] = false
		ik := mailIndexKey(owner, ids[i])
		b, err := getValue(w.txn, ik)
		if errors.Is(err, parley.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if bytes.Equal(b, tombstone) {
			return nil
		}
		seq, err := decodeUint64("mail index", b)
		if err != nil {
			return err
		}
		ok, err := deleteMail(w.txn, owner, seq)
		if err != nil || !ok {
			return err
		}
		deleted[i] = true
		return w.txn.SetEntry(badger.NewEntry(ik, tombstone).WithTTL(tombstoneTTL))
	})
	if err != nil {
		return 0, fmt.Errorf("storage: ack mail of %x: %w", owner[:4], err)
	}
	n := 0
	for _, d := range deleted {
		if d {
			n++
		}
	}
	return n, nil
}

// ExpireMail deletes mail stored before cutoff, and the accounts whose
// registration ended before now with all their mail. It returns how many
// envelopes it deleted. It runs in as many transactions as it needs.
func (db *DB) ExpireMail(cutoff, now time.Time) (int, error) {
	type victim struct {
		owner MailboxOwner
		seq   uint64
		whole bool // the account goes too, after its last mail
	}
	var victims []victim
	var goners []MailboxOwner
	err := db.view(func(txn *badger.Txn) error {
		return scan(txn, prefixMailboxAccount, func(_, v []byte) error {
			a, err := decodeMailboxAccount(v)
			if err != nil {
				return err
			}
			whole := a.ExpiresAt.Before(now)
			if whole {
				goners = append(goners, a.Owner)
			}
			pre := mailPrefix(a.Owner)
			it := txn.NewIterator(badger.IteratorOptions{Prefix: pre, PrefetchValues: true, PrefetchSize: 64})
			defer it.Close()
			for it.Seek(pre); it.ValidForPrefix(pre); it.Next() {
				item := it.Item()
				seq, err := mailKeySeq(item.Key())
				if err != nil {
					return err
				}
				var at time.Time
				err = item.Value(func(v []byte) error {
					var err error
					at, _, err = decodeMail(v)
					return err
				})
				if err != nil {
					return err
				}
				if !whole && !at.Before(cutoff) {
					break // arrival order: the rest is younger
				}
				victims = append(victims, victim{a.Owner, seq, whole})
			}
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("storage: expire mail: %w", err)
	}
	deleted := make([]bool, len(victims))
	err = db.submit(len(victims), func(w *wtxn, i int) error {
		var err error
		deleted[i], err = deleteMail(w.txn, victims[i].owner, victims[i].seq)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("storage: expire mail: %w", err)
	}
	err = db.submit(len(goners), func(w *wtxn, i int) error {
		a, found, err := readMailboxAccount(w.txn, goners[i])
		if err != nil || !found || !a.ExpiresAt.Before(now) || a.Count > 0 {
			return err // renewed meanwhile, or mail arrived: kept
		}
		if err := w.txn.Delete(mailboxAccountKey(goners[i])); err != nil {
			return err
		}
		n, err := getCounter(w.txn, keyMailboxAccounts)
		if err != nil {
			return err
		}
		return w.txn.Set([]byte(keyMailboxAccounts), encodeUint64(max(n, 1)-1))
	})
	if err != nil {
		return 0, fmt.Errorf("storage: expire mailbox accounts: %w", err)
	}
	n := 0
	for _, d := range deleted {
		if d {
			n++
		}
	}
	return n, nil
}

// deleteMail deletes one mail and its index entry and uncounts it. It
// reports false when the mail is gone already.
func deleteMail(txn *badger.Txn, owner MailboxOwner, seq uint64) (bool, error) {
	mk := mailKey(owner, seq)
	v, err := getValue(txn, mk)
	if errors.Is(err, parley.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	_, env, err := decodeMail(v)
	if err != nil {
		return false, err
	}
	a, found, err := readMailboxAccount(txn, owner)
	if err != nil {
		return false, err
	}
	if !found {
		return false, malformed("mailbox account", fmt.Errorf("mail of %x without an account", owner[:4]))
	}
	a.Count = max(a.Count-1, 0)
	a.Bytes = max(a.Bytes-MailCost(len(env)), 0)
	if err := txn.Delete(mk); err != nil {
		return false, err
	}
	ik := mailIndexKey(owner, parley.NewEnvelopeID(env))
	if b, err := getValue(txn, ik); err == nil && !bytes.Equal(b, tombstone) {
		if err := txn.Delete(ik); err != nil {
			return false, err
		}
	}
	return true, txn.Set(mailboxAccountKey(owner), encodeMailboxAccount(a))
}

func readMailboxAccount(txn *badger.Txn, owner MailboxOwner) (MailboxAccount, bool, error) {
	b, err := getValue(txn, mailboxAccountKey(owner))
	if errors.Is(err, parley.ErrNotFound) {
		return MailboxAccount{}, false, nil
	} else if err != nil {
		return MailboxAccount{}, false, err
	}
	a, err := decodeMailboxAccount(b)
	if err == nil && a.Owner != owner {
		err = malformed("mailbox account", fmt.Errorf("owner %x under the key of %x", a.Owner[:4], owner[:4]))
	}
	return a, err == nil, err
}

// liveAccount is the owner's account, or ErrNotRegistered.
func liveAccount(txn *badger.Txn, owner MailboxOwner, now time.Time) (MailboxAccount, error) {
	a, found, err := readMailboxAccount(txn, owner)
	if err != nil {
		return MailboxAccount{}, err
	}
	if !found || a.ExpiresAt.Before(now) {
		return MailboxAccount{}, ErrNotRegistered
	}
	return a, nil
}

func getCounter(txn *badger.Txn, k string) (uint64, error) {
	b, err := getValue(txn, []byte(k))
	if errors.Is(err, parley.ErrNotFound) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	return decodeUint64(k, b)
}

// MailboxAccounts is how many owners the mailbox keeps accounts for.
func (db *DB) MailboxAccounts() (int64, error) {
	var n uint64
	err := db.view(func(txn *badger.Txn) error {
		var err error
		n, err = getCounter(txn, keyMailboxAccounts)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("storage: mailbox accounts: %w", err)
	}
	return int64(n), nil
}

// MailboxLoad is what a mailbox holds in all: owners, envelopes, bytes.
type MailboxLoad struct {
	Owners, Count, Bytes int64
}

// MailboxLoad sums every account's counters, for the node's status. It
// reads each account once: cheap at the thousand owners a mailbox serves.
func (db *DB) MailboxLoad() (MailboxLoad, error) {
	var l MailboxLoad
	err := db.view(func(txn *badger.Txn) error {
		return scan(txn, prefixMailboxAccount, func(_, v []byte) error {
			a, err := decodeMailboxAccount(v)
			if err != nil {
				return err
			}
			l.Owners++
			l.Count += a.Count
			l.Bytes += a.Bytes
			return nil
		})
	})
	if err != nil {
		return MailboxLoad{}, fmt.Errorf("storage: mailbox load: %w", err)
	}
	return l, nil
}
