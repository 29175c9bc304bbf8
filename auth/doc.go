// Package auth says who makes a request. It keeps the global signing
// secret (in db's _params); issues and validates record tokens, HS256 JWTs
// with the claims {id, collectionId, type, exp} signed with a key derived
// from the secret, the record's tokenKey and its password hash (changing
// either revokes the record's tokens), and short-lived file tokens for
// ?token= on protected file URLs; checks bcrypt passwords, in the same
// time whether or not the record exists; applies the failed sign-in
// budgets of package ratelimit; and puts the Viewer (a record of an auth
// collection, superusers included) in the request context (Middleware,
// WithViewer, ViewerFrom), answering a bad token with 401 UNAUTHENTICATED.
//
// It also keeps the state of the other sign-in methods, whose SQL is db's:
// single-use emailed tokens of the email flows (action.go), one-time
// passwords stored as an HMAC with a bounded number of tries (otp.go),
// multi-factor sign-ins in progress (mfa.go), the devices a record signed
// in from, for the new-device alert (origin.go), and non-refreshable
// impersonation tokens (IssueImpersonateToken).
//
// Tokens use golang-jwt/jwt/v5 directly, not go-pkgz/auth's token service
// (Service says why). OAuth2 on go-pkgz/auth is the sub-package
// auth/oauth, whose redirect flow signs its handshake with DeriveKey; the
// sign-in mutations belong to the GraphQL servers, which call
// CheckPassword, SignInAllowed, IssueToken and the methods above.
package auth
