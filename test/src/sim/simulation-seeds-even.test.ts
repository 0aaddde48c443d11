import { describe } from 'vitest';
import { simulateSeeds } from '../../helpers/simulation-seeds.js';

describe('simulated cluster, even seeds', () => simulateSeeds(0, 2));
