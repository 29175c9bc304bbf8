// Package mail sends Monobase's emails: the settings they use (meta and
// smtp, stored in db's _params), an SMTP client on the standard library's
// net/smtp (plain, STARTTLS, implicit TLS), the default templates of the
// auth flows, and a bounded in-memory queue whose background sender retries
// with backoff, so no request waits for, or learns about, a send.
//
// net/smtp is enough: it speaks EHLO, STARTTLS, AUTH and the DATA exchange,
// and an implicit-TLS connection is a tls.Conn handed to smtp.NewClient. The
// one thing it lacks, AUTH LOGIN, is a dozen lines here (loginAuth). A
// library would add a dependency for nothing the flows need.
package mail
