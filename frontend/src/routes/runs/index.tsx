import { Route, Routes } from 'react-router';
import { RunDetail } from './RunDetail';
import { RunList } from './RunList';

/** /runs and /runs/:runId */
export default function RunsScreen() {
  return (
    <Routes>
      <Route index element={<RunList />} />
      <Route path=":runId" element={<RunDetail />} />
    </Routes>
  );
}
