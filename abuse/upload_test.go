package abuse

// uploadAttacks lists the cases of this group (harness_test.go runs them).
func uploadAttacks() []attack {
	return []attack{}
}
