/** The client labels the endpoint accounts requests under. */
export type HubClientLabel = 'huggingface_hub' | 'huggingface.js' | 'swift-transformers' | 'http';

/**
 * The client a request came from, by its User-Agent: huggingface_hub (Python) names itself;
 * huggingface.js sends none of its own, so Node's fetch default (`node`, undici) counts as it; the Swift
 * clients (swift-transformers, swift-huggingface, WhisperKit, or a bare CFNetwork agent) are one label;
 * anything else is `http`.
 */
export function clientLabelOf(userAgent: string | undefined): HubClientLabel {
  const ua = (userAgent ?? '').trim();
  if (/huggingface_hub/i.test(ua)) return 'huggingface_hub';
  if (/huggingface\.js|@huggingface\/hub|^node$|^undici/i.test(ua)) return 'huggingface.js';
  if (/swift-transformers|swift-huggingface|whisperkit|CFNetwork/i.test(ua)) return 'swift-transformers';
  return 'http';
}
