// Entry point: check for WebGPU before anything else, and load the app only where it can run;
// elsewhere the page says what to do (browser, flag, OS) instead of staying blank.
import { webgpuMissingReason } from '../gpu/browser.ts';
import { showWebgpuMissing } from './missing.ts';
import './style.css';

const missing = webgpuMissingReason();
if (missing) showWebgpuMissing(missing);
else await import('./app.ts');
