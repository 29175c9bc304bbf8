package abuse

// inputAttacks lists the cases of this group (harness_test.go runs them).
func inputAttacks() []attack {
	return []attack{}
}
