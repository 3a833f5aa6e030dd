// A URL's userinfo (user:password@) is a credential: wherever a URL is shown (messages, the log
// file, the console) it reads ***@ instead.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createPipelineLogger } from '../ts/log/logger.js';
import { redactUrl } from '../ts/util/url.js';
import { tempDir } from './helpers/data-env.js';

describe('URLs are shown without their userinfo', () => {
  it('redactUrl hides the userinfo of every URL in a text and changes nothing else', () => {
    assert.equal(redactUrl('http://user:pw@host:8080/a/b'), 'http://***@host:8080/a/b');
    assert.equal(redactUrl('https://token@mirror.example/'), 'https://***@mirror.example/');
    assert.equal(redactUrl('http://user:p@ss@host/'), 'http://***@host/', "a password holding '@'");
    assert.equal(redactUrl('Could not download http://u:p@h/x.zip: fetch failed; see HTTPS://a:b@c/?q'), 'Could not download http://***@h/x.zip: fetch failed; see HTTPS://***@c/?q');
    for (const plain of ['https://data.binance.vision/data/spot/x.zip', 'http://host/path@not-userinfo', 'mail me@example.com', 'file:///tmp/a@b.zip', '']) {
      assert.equal(redactUrl(plain), plain);
    }
    assert.equal(redactUrl(redactUrl('http://u:p@h/')), 'http://***@h/', 'idempotent');
  });

  it('the pipeline logger redacts messages and fields, in its file and on the console', () => {
    const tmp = tempDir('ohlc-redact-');
    let shown = '';
    try {
      const log = createPipelineLogger({ logsDir: join(tmp.dir, 'logs'), console: { write: (text) => (shown += text), tty: false, color: false } });
      log.warn('request to http://user:s3cretpw@host/x failed', { url: 'http://user:s3cretpw@host/x', nested: { urls: ['https://s3cretpw@m/'] }, n: 3 });
      log.info('plain line');
      log.flush();
      const file = readFileSync(join(tmp.dir, 'logs', readdirSync(join(tmp.dir, 'logs'))[0]), 'utf8');
      for (const text of [file, shown]) {
        assert.doesNotMatch(text, /s3cretpw/);
        assert.match(text, /request to http:\/\/\*\*\*@host\/x failed/);
        assert.match(text, /"url":"http:\/\/\*\*\*@host\/x"/);
        assert.match(text, /"urls":\["https:\/\/\*\*\*@m\/"\]/);
        assert.match(text, /"n":3/);
        assert.match(text, /plain line/);
      }
    } finally {
      tmp.remove();
    }
  });
});
