package abuse

// signInAttacks lists the cases of this group (harness_test.go runs them).
func signInAttacks() []attack {
	return []attack{}
}
