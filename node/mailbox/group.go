package mailbox

import (
	"crypto/hmac"
	"crypto/sha256"
)

// groupNonceDomain separates the nonces an owner issues to a group from
// those it issues to one contact (holderNonceDomain).
const groupNonceDomain = "parley/mailbox/1.0.0 group nonce\x00"

// GroupCapability is the capability an owner hands every member of a
// group, in a grant sealed under the group's key of one epoch (PROTOCOL.md
// §9.10). Its nonce is HMAC-SHA256(depositKey, groupNonceDomain || group
// ID || epoch key ID)[:16]: the owner stores nothing, every member of one
// epoch holds the same capability, and the next epoch (a member left or
// was removed, the group rekeyed) gets another, so the owner revokes the
// old one by its nonce (GroupNonce) and whoever left loses it.
func GroupCapability(depositKey [DepositKeySize]byte, owner OwnerID, group [32]byte, epoch [16]byte) Capability {
	c := Capability{Nonce: GroupNonce(depositKey, group, epoch)}
	c.Token = depositToken(depositKey, owner, c.Nonce)
	return c
}

// GroupNonce is the nonce of GroupCapability, for revoking it.
func GroupNonce(depositKey [DepositKeySize]byte, group [32]byte, epoch [16]byte) [NonceSize]byte {
	m := hmac.New(sha256.New, depositKey[:])
	m.Write([]byte(groupNonceDomain))
	m.Write(group[:])
	m.Write(epoch[:])
	return [NonceSize]byte(m.Sum(nil))
}
