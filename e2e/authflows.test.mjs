// The auth email flows, OTP and MFA from real clients (Apollo Client and
// urql) against the real binary, which sends its emails over SMTP to a
// real SMTP server started here (the smtp-server package); the tests read
// each message and follow its link or code.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { ApolloClient, CombinedGraphQLErrors, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { Client, cacheExchange, fetchExchange } from '@urql/core';
import { startServer } from './harness.mjs';
import { startSmtp } from './smtp.mjs';

const APP_URL = 'http://app.test';

describe('auth flows over SMTP', () => {
  let server;
  let smtp;
  let apollo;
  let urql;

  /** The next email, which must go to `to`; returns its raw text. */
  async function mailTo(to) {
    const m = await smtp.next();
    assert.deepEqual(m.to, [to], `email to ${m.to}, want ${to}`);
    return m.raw;
  }

  /** The token of the link to `path` in the next email to `to`. */
  async function linkToken(to, path) {
    const raw = await mailTo(to);
    const match = raw.match(new RegExp(`${APP_URL}/_/#/auth/${path}/([A-Za-z0-9_.-]+)`));
    assert.ok(match, `no ${path} link in:\n${raw}`);
    return match[1];
  }

  /** The one-time password in the next email to `to`. */
  async function otpCode(to) {
    const raw = await mailTo(to);
    const match = raw.match(/one-time password is: ([0-9]+)/);
    assert.ok(match, `no code in:\n${raw}`);
    return match[1];
  }

  /** Runs a mutation with Apollo Client, as `token` when given. */
  async function mutate(mutation, variables, token) {
    const { data } = await apollo.mutate({
      mutation: gql(mutation),
      variables,
      context: token ? { headers: { authorization: `Bearer ${token}` } } : {},
    });
    return data;
  }

  /** Runs a mutation with Apollo Client that must fail with `code`; returns the error. */
  async function mutateFails(mutation, variables, code) {
    let caught;
    await assert.rejects(apollo.mutate({ mutation: gql(mutation), variables }), (err) => {
      assert.ok(CombinedGraphQLErrors.is(err), `expected GraphQL errors, got ${err}`);
      assert.equal(err.errors[0].extensions.code, code, JSON.stringify(err.errors));
      caught = err.errors[0];
      return true;
    });
    return caught;
  }

  before(async () => {
    smtp = await startSmtp();
    server = await startServer();
    await server.admin(`mutation($port: Int!) {
      updateSettings(input: {
        meta: {appName: "E2E", appUrl: "${APP_URL}", senderName: "E2E", senderAddress: "no-reply@app.test"},
        smtp: {enabled: true, host: "127.0.0.1", port: $port}
      }) { smtp { enabled } }
    }`, { port: smtp.port });
    const own = 'id = @request.auth.id';
    for (const [name, mfa] of [['members', false], ['agents', true]]) {
      await server.admin(`mutation($name: String!, $own: String!, $mfa: Boolean!) {
        createCollection(input: {
          name: $name, type: AUTH, listRule: $own, viewRule: $own, createRule: "", updateRule: $own, deleteRule: $own,
          fields: [{name: "name", type: TEXT}],
          otp: {enabled: true}, mfa: {enabled: $mfa}
        }) { id }
      }`, { name, own, mfa });
    }
    apollo = new ApolloClient({ link: new HttpLink({ uri: server.graphqlUrl }), cache: new InMemoryCache() });
    urql = new Client({ url: server.graphqlUrl, exchanges: [cacheExchange, fetchExchange], requestPolicy: 'network-only' });
  });
  after(async () => {
    apollo?.stop();
    await server?.stop();
    await smtp?.close();
  });

  const signIn = `mutation($i: String!, $p: String!, $m: String) {
    memberAuthWithPassword(identity: $i, password: $p, mfaId: $m) { token record { id email verified } }
  }`;
  let memberId;
  let token;

  test('sign-up, then email verification (Apollo Client)', async () => {
    const data = await mutate(`mutation {
      createMember(input: {email: "ann@example.com", password: "password-1", passwordConfirm: "password-1", name: "Ann"}) { id }
    }`);
    memberId = data.createMember.id;
    // An unknown address answers the same and gets nothing: the next email is Ann's.
    const ask = 'mutation($e: String!) { memberRequestVerification(email: $e) }';
    assert.equal((await mutate(ask, { e: 'nobody@example.com' })).memberRequestVerification, true);
    assert.equal((await mutate(ask, { e: 'ann@example.com' })).memberRequestVerification, true);
    const t = await linkToken('ann@example.com', 'confirm-verification');
    const confirm = 'mutation($t: String!) { memberConfirmVerification(token: $t) }';
    await mutateFails(confirm, { t: `${t.slice(0, -2)}xx` }, 'BAD_USER_INPUT'); // forged
    assert.equal((await mutate(confirm, { t })).memberConfirmVerification, true);
    await mutateFails(confirm, { t }, 'BAD_USER_INPUT'); // used
    const auth = (await mutate(signIn, { i: 'ann@example.com', p: 'password-1' })).memberAuthWithPassword;
    assert.equal(auth.record.id, memberId);
    assert.equal(auth.record.verified, true);
    token = auth.token;
    assert.equal(smtp.pending(), 0);
  });

  test('password reset revokes the old tokens (Apollo Client)', async () => {
    await mutate('mutation { memberRequestPasswordReset(email: "ann@example.com") }');
    const t = await linkToken('ann@example.com', 'confirm-password-reset');
    const confirm = `mutation($t: String!, $p: String!, $c: String!) {
      memberConfirmPasswordReset(token: $t, password: $p, passwordConfirm: $c)
    }`;
    await mutateFails(confirm, { t, p: 'password-2', c: 'mismatch-2' }, 'BAD_USER_INPUT');
    assert.equal((await mutate(confirm, { t, p: 'password-2', c: 'password-2' })).memberConfirmPasswordReset, true);
    // The old token is revoked: the server answers 401 before running anything.
    const old = await server.post(server.graphqlUrl, 'mutation { memberAuthRefresh { token } }', {}, token);
    assert.equal(old.status, 401);
    assert.equal(old.body.errors[0].extensions.code, 'UNAUTHENTICATED');
    await mutateFails(signIn, { i: 'ann@example.com', p: 'password-1' }, 'BAD_USER_INPUT');
    token = (await mutate(signIn, { i: 'ann@example.com', p: 'password-2' })).memberAuthWithPassword.token;
  });

  test('email change (Apollo Client)', async () => {
    await mutate('mutation { memberRequestEmailChange(newEmail: "ann.new@example.com") }', {}, token);
    const t = await linkToken('ann.new@example.com', 'confirm-email-change');
    const confirm = 'mutation($t: String!, $p: String!) { memberConfirmEmailChange(token: $t, password: $p) }';
    await mutateFails(confirm, { t, p: 'wrong-password' }, 'BAD_USER_INPUT');
    assert.equal((await mutate(confirm, { t, p: 'password-2' })).memberConfirmEmailChange, true);
    await mutateFails(signIn, { i: 'ann@example.com', p: 'password-2' }, 'BAD_USER_INPUT');
    const auth = (await mutate(signIn, { i: 'ann.new@example.com', p: 'password-2' })).memberAuthWithPassword;
    assert.equal(auth.record.email, 'ann.new@example.com');
  });

  test('OTP sign-in (urql)', async () => {
    const request = 'mutation($e: String!) { memberRequestOtp(email: $e) { otpId } }';
    const withOtp = `mutation($o: String!, $p: String!) {
      memberAuthWithOtp(otpId: $o, password: $p) { token record { id email } }
    }`;
    // An unknown email gets a well-formed otpId and no email.
    const fake = await urql.mutation(request, { e: 'nobody@example.com' }).toPromise();
    assert.equal(fake.error, undefined, String(fake.error));
    assert.match(fake.data.memberRequestOtp.otpId, /^[a-z0-9]{15}$/);
    const res = await urql.mutation(request, { e: 'ann.new@example.com' }).toPromise();
    assert.equal(res.error, undefined, String(res.error));
    const otpId = res.data.memberRequestOtp.otpId;
    const code = await otpCode('ann.new@example.com');
    assert.equal(code.length, 8);

    const wrong = await urql.mutation(withOtp, { o: fake.data.memberRequestOtp.otpId, p: code }).toPromise();
    assert.equal(wrong.error.graphQLErrors[0].extensions.code, 'BAD_USER_INPUT');
    const ok = await urql.mutation(withOtp, { o: otpId, p: code }).toPromise();
    assert.equal(ok.error, undefined, String(ok.error));
    assert.equal(ok.data.memberAuthWithOtp.record.id, memberId);
    assert.ok(ok.data.memberAuthWithOtp.token);
    const again = await urql.mutation(withOtp, { o: otpId, p: code }).toPromise();
    assert.equal(again.error.graphQLErrors[0].extensions.code, 'BAD_USER_INPUT');
    assert.equal(smtp.pending(), 0);
  });

  test('MFA: password, then OTP with the mfaId (urql)', async () => {
    const created = await urql.mutation(`mutation {
      createAgent(input: {email: "bond@example.com", password: "password-7", passwordConfirm: "password-7"}) { id }
    }`).toPromise();
    assert.equal(created.error, undefined, String(created.error));
    const first = await urql.mutation(`mutation {
      agentAuthWithPassword(identity: "bond@example.com", password: "password-7") { token }
    }`).toPromise();
    const e = first.error?.graphQLErrors[0];
    assert.equal(e?.extensions.code, 'MFA_REQUIRED', String(first.error));
    assert.equal(first.data?.agentAuthWithPassword ?? null, null);
    const mfaId = e.extensions.mfaId;
    assert.ok(typeof mfaId === 'string' && mfaId.length >= 20, `mfaId ${mfaId}`);

    const req = await urql.mutation('mutation { agentRequestOtp(email: "bond@example.com") { otpId } }').toPromise();
    assert.equal(req.error, undefined, String(req.error));
    const code = await otpCode('bond@example.com');
    const second = await urql.mutation(`mutation($o: String!, $p: String!, $m: String) {
      agentAuthWithOtp(otpId: $o, password: $p, mfaId: $m) { token record { id email } }
    }`, { o: req.data.agentRequestOtp.otpId, p: code, m: mfaId }).toPromise();
    assert.equal(second.error, undefined, String(second.error));
    assert.equal(second.data.agentAuthWithOtp.record.id, created.data.createAgent.id);
    // The token works.
    const me = await server.gql('{ me { id } }', {}, second.data.agentAuthWithOtp.token);
    assert.equal(me.data.me.id, created.data.createAgent.id);
  });
});
