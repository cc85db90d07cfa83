// Drives a running Cardfile over TLS with the official JS SDK, @bitrix24/b24jssdk, unmodified.
//
// Environment: CARDFILE_WEBHOOK_URL (https://host:port/rest/{user}/{token}), NODE_EXTRA_CA_CERTS
// (the server's self-signed certificate). Prints each scenario it passed; any failure throws and
// exits non-zero.
import assert from 'node:assert/strict'
import { B24Hook } from '@bitrix24/b24jssdk'

const USERS = 120
const passed = (name) => console.log(`b24jssdk: passed: ${name}`)

const b24 = B24Hook.fromWebhookUrl(process.env.CARDFILE_WEBHOOK_URL)
b24.offClientSideWarning?.()

async function call(method, params = {}) {
  const res = await b24.actions.v2.call.make({ method, params })
  assert.ok(res.isSuccess, `${method}: ${res.getErrorMessages?.()}`)
  return res
}

const time = (await call('server.time')).getData().result
assert.match(time, /\+00:00$/)
const me = (await call('user.current')).getData().result
assert.equal(me.ID, '1')
assert.equal(me.ACTIVE, true)
const profile = (await call('profile')).getData().result
assert.equal(profile.ADMIN, true)
passed('server.time, user.current, profile')

const dept = (await call('department.add', { NAME: 'JS Team', PARENT: 1, SORT: 200 })).getData().result
assert.equal(typeof dept, 'number')
const depRows = (await call('department.get', { ID: dept })).getData().result
assert.deepEqual(depRows, [{ ID: String(dept), NAME: 'JS Team', SORT: 200, PARENT: '1' }])
passed('department.add, department.get')

// 120 users through batch, 50 commands a call.
const calls = []
for (let i = 0; i < USERS; i++) {
  const n = String(i).padStart(3, '0')
  calls.push(['user.add', { EMAIL: `js${n}@example.com`, NAME: `Jo${n}`, LAST_NAME: 'Script', UF_DEPARTMENT: [dept] }])
}
const added = []
for (let i = 0; i < calls.length; i += 50) {
  const res = await b24.actions.v2.batch.make({ calls: calls.slice(i, i + 50), options: { isHaltOnError: true } })
  assert.ok(res.isSuccess, `batch: ${res.getErrorMessages()}`)
  const data = res.getData()
  for (const item of data) {
    added.push(typeof item === 'number' ? item : item.getData ? item.getData().result : item)
  }
}
assert.equal(added.length, USERS)
assert.ok(added.every((id) => Number.isInteger(id)), `ids: ${added.slice(0, 3)}`)
passed(`${USERS} users through batch`)

// Offset paging: callList.
const listed = await b24.actions.v2.callList.make({ method: 'user.get', params: { filter: { UF_DEPARTMENT: dept } }, idKey: 'ID' })
assert.ok(listed.isSuccess, `callList: ${listed.getErrorMessages()}`)
const ids = listed.getData().map((u) => Number(u.ID)).sort((a, b) => a - b)
assert.deepEqual(ids, [...added].sort((a, b) => a - b))
passed('callList')

// Cursor paging: fetchList (>ID with order {ID: ASC}, start=-1).
const streamed = []
for await (const chunk of b24.actions.v2.fetchList.make({ method: 'user.get', params: { filter: { UF_DEPARTMENT: dept } }, idKey: 'ID' })) {
  streamed.push(...chunk.map((u) => Number(u.ID)))
}
assert.deepEqual([...streamed].sort((a, b) => a - b), [...added].sort((a, b) => a - b))
passed('fetchList (>ID cursor)')

// Offset paging by hand: next is a number only while rows remain.
let start = 0
let pages = 0
const byHand = []
for (;;) {
  const res = await b24.actions.v2.call.make({ method: 'user.get', params: { filter: { UF_DEPARTMENT: dept }, start } })
  byHand.push(...res.getData().result.map((u) => Number(u.ID)))
  pages++
  assert.equal(res.getTotal(), USERS)
  if (!res.isMore()) break
  start += res.getData().result.length
  assert.ok(pages < 10)
}
assert.equal(byHand.length, USERS)
assert.equal(pages, 3)
passed('offset paging with total/next')

// Every value of one user.
const u = (await call('user.get', { ID: added[7] })).getData().result[0]
assert.equal(u.ID, String(added[7]))
assert.equal(u.ACTIVE, true)
assert.equal(u.EMAIL, 'js007@example.com')
assert.equal(u.NAME, 'Jo007')
assert.equal(u.LAST_NAME, 'Script')
assert.deepEqual(u.UF_DEPARTMENT, [dept])
assert.equal(u.IS_ONLINE, 'N')
assert.equal(u.USER_TYPE, 'employee')
assert.match(u.DATE_REGISTER, /\+00:00$/)
assert.equal(u.LAST_LOGIN, '')
passed('user values')

// Search with $result chaining in one batch.
const chained = await b24.actions.v2.batch.make({
  calls: {
    first: ['user.search', { FILTER: { FIND: 'jo00' } }],
    same: ['user.get', { ID: '$result[first][0][ID]' }],
  },
  options: { isHaltOnError: true },
})
assert.ok(chained.isSuccess, `chained: ${chained.getErrorMessages()}`)
const cd = chained.getData()
const firstRows = cd.first.getData ? cd.first.getData().result : cd.first
const sameRows = cd.same.getData ? cd.same.getData().result : cd.same
assert.equal(firstRows.length, 10)
assert.equal(sameRows[0].ID, firstRows[0].ID)
passed('search and $result chaining')

// Update and terminate.
assert.equal((await call('user.update', { ID: added[0], NAME: 'Joanna' })).getData().result, true)
assert.equal((await call('user.get', { ID: added[0] })).getData().result[0].NAME, 'Joanna')
assert.equal((await call('user.update', { ID: added[1], ACTIVE: 'N' })).getData().result, true)
assert.equal((await call('user.get', { ID: added[1] })).getData().result[0].ACTIVE, false)
const active = await b24.actions.v2.callList.make({ method: 'user.get', params: { filter: { UF_DEPARTMENT: dept, ACTIVE: true } }, idKey: 'ID' })
assert.equal(active.getData().length, USERS - 1)
passed('update and terminate')

// Errors come back as failures with Bitrix24's codes.
await assert.rejects(
  b24.actions.v2.call.make({ method: 'department.delete', params: { ID: dept } }),
  (e) => e.code === 'ERROR_CORE' && /members/.test(e.message),
)
await assert.rejects(
  b24.actions.v2.call.make({ method: 'no.such.method', params: {} }),
  (e) => e.code === 'ERROR_METHOD_NOT_FOUND',
)
passed('errors')
