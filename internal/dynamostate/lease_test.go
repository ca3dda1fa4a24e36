package dynamostate

import (
	"errors"
	"testing"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/poll"
)

func TestLeaseContention(t *testing.T) {
	t.Parallel()
	clk := newClock()
	tbl := newTable(t, clk)
	ctx := t.Context()
	const name = "poll#acme"

	if err := tbl.AcquireLease(ctx, name, "owner-a", time.Minute); err != nil {
		t.Fatalf("first acquire: %v", err)
	}
	wantUntil := clk.Now().Add(time.Minute)

	err := tbl.AcquireLease(ctx, name, "owner-b", time.Minute)
	var held *poll.LeaseHeldError
	if !errors.As(err, &held) {
		t.Fatalf("second owner acquired a held lease: %v, want *poll.LeaseHeldError", err)
	}
	if held.Name != name || held.Owner != "owner-a" || !held.Until.Equal(wantUntil) {
		t.Fatalf("LeaseHeldError = %+v, want owner-a until %v", held, wantUntil)
	}

	// The holder renews; a non-holder's release changes nothing.
	clk.Advance(30 * time.Second)
	if err := tbl.AcquireLease(ctx, name, "owner-a", time.Minute); err != nil {
		t.Fatalf("holder renewing its lease: %v", err)
	}
	if err := tbl.ReleaseLease(ctx, name, "owner-b"); err != nil {
		t.Fatalf("release by a non-holder: %v, want nil", err)
	}
	clk.Advance(45 * time.Second) // past the first expiry, before the renewed one
	if err := tbl.AcquireLease(ctx, name, "owner-b", time.Minute); !errors.As(err, &held) || held.Owner != "owner-a" {
		t.Fatalf("acquire while the renewed lease runs: %v, want held by owner-a", err)
	}

	// Once released, the other owner gets it.
	if err := tbl.ReleaseLease(ctx, name, "owner-a"); err != nil {
		t.Fatal(err)
	}
	if err := tbl.AcquireLease(ctx, name, "owner-b", time.Minute); err != nil {
		t.Fatalf("acquire after release: %v", err)
	}

	// Leases of different names are independent.
	if err := tbl.AcquireLease(ctx, "poll#other", "owner-a", time.Minute); err != nil {
		t.Fatalf("acquire another lease: %v", err)
	}
}

func TestLeaseExpiryTakeover(t *testing.T) {
	t.Parallel()
	clk := newClock()
	tbl := newTable(t, clk)
	ctx := t.Context()
	const name = "poll#acme"

	if err := tbl.AcquireLease(ctx, name, "crashed", time.Minute); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute) // expiry is exclusive: at until the lease is free
	if err := tbl.AcquireLease(ctx, name, "successor", time.Minute); err != nil {
		t.Fatalf("take over an expired lease: %v", err)
	}
	// The crashed owner coming back neither releases nor retakes the successor's lease.
	if err := tbl.ReleaseLease(ctx, name, "crashed"); err != nil {
		t.Fatal(err)
	}
	var held *poll.LeaseHeldError
	if err := tbl.AcquireLease(ctx, name, "crashed", time.Minute); !errors.As(err, &held) || held.Owner != "successor" {
		t.Fatalf("old owner re-acquiring: %v, want held by successor", err)
	}
}

func TestLeaseArguments(t *testing.T) {
	t.Parallel()
	tbl := &Table{cfg: Config{Name: "state", Now: time.Now}}
	tests := []struct {
		name, owner string
		ttl         time.Duration
	}{
		{"empty owner", "", time.Minute},
		{"zero ttl", "a", 0},
		{"negative ttl", "a", -time.Second},
	}
	for _, tt := range tests {
		if err := tbl.AcquireLease(t.Context(), "l", tt.owner, tt.ttl); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
}
