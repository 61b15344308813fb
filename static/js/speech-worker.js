// The speech engine's worker: the hub serves this file after meSpeak as /vendor/mespeak-worker.js
// (hub/vendor_bundle.py), so a line is made into a WAV off the page's main thread. It loads
// meSpeak's config and each voice the first time they are needed, and answers each
// {id, text, options} with {id, wav} (the ArrayBuffer, transferred) or {id, error}.
const loaded = new Map(); // 'config' or a voice id -> promise

function load(key, url, use) {
  if (!loaded.has(key)) {
    const loading = fetch(url)
      .then((response) => {
        if (!response.ok) throw new Error(`could not load ${url} (${response.status})`);
        return response.json();
      })
      .then(use);
    loading.catch(() => loaded.delete(key)); // tried again with the next line
    loaded.set(key, loading);
  }
  return loaded.get(key);
}

self.onmessage = async ({ data: { id, text, options } }) => {
  try {
    await load('config', '/vendor/mespeak-config.json', (config) => self.meSpeak.loadConfig(config));
    const file = `/vendor/mespeak-voice-${String(options.voice).split('/').pop()}.json`;
    await load(options.voice, file, (voice) => self.meSpeak.loadVoice(voice));
    const wav = self.meSpeak.speak(String(text), { ...options, rawdata: 'arraybuffer' });
    if (!wav) throw new Error('meSpeak made no sound');
    self.postMessage({ id, wav }, [wav]);
  } catch (err) {
    self.postMessage({ id, error: err?.message ?? String(err) });
  }
};
