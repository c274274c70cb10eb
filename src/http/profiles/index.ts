export { nativeProfile } from './native.js';
export { bioreProfile } from './biore.js';
export { PROFILE_NAMES, tokenView, userView, sessionView } from './profile.js';
export type { Profile, ProfileName, ProfileEnv, LimitBucket } from './profile.js';
