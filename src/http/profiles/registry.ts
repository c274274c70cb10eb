import { LatchkeyError } from '../../core/errors.js';
import { bioreProfile } from './biore.js';
import { nativeProfile } from './native.js';
import { PROFILE_NAMES, type Profile, type ProfileName } from './profile.js';

const PROFILES: Partial<Record<ProfileName, Profile>> = { native: nativeProfile, biore: bioreProfile };

/** Looks a profile up by name; the gateway profiles are not built yet. */
export function profileByName(name: string): Profile {
  const profile = PROFILES[name as ProfileName];
  if (profile) return profile;
  if ((PROFILE_NAMES as readonly string[]).includes(name)) {
    throw new LatchkeyError('UNSUPPORTED_PROFILE', `The "${name}" profile (a gateway in front of another auth service) is not available yet; use --profile native or --profile biore.`);
  }
  throw new LatchkeyError('CONFIG_INVALID', `Unknown profile "${name}"; accepted: ${PROFILE_NAMES.join(', ')}.`);
}
