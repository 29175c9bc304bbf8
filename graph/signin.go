package graph

// isSignIn reports whether the Mutation field name checks a password, for
// querycost.SignInOnce.
func isSignIn(name string) bool { return name == "authWithPassword" }
