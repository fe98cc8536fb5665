package redisstore

import "testing"

// keySlot agrees with Redis Cluster (values from CLUSTER KEYSLOT, and the
// CRC16/XMODEM check value 0x31C3 of "123456789").
func TestKeySlot(t *testing.T) {
	for key, want := range map[string]int{
		"123456789":            0x31C3,
		"foo":                  12182,
		"user1000":             3443,
		"{user1000}.following": 3443,
		"a{user1000}b{x}":      3443, // the first tag counts
		"foo{}{bar}":           keySlotOfWhole("foo{}{bar}"),
		"foo{{bar}}zap":        keySlotOfWhole("{bar"),
		"{}":                   keySlotOfWhole("{}"),
		"":                     0,
	} {
		if got := keySlot(key); got != want {
			t.Errorf("keySlot(%q) = %d, want %d", key, got, want)
		}
	}
}

func keySlotOfWhole(s string) int { return int(crc16(s)) % slotCount }
