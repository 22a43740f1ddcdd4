import { Route, Routes } from 'react-router';
import { DatasetDetail } from './DatasetDetail';
import { DatasetList } from './DatasetList';

/** /projects/:projectId/datasets and /datasets/:datasetId?tab=preview|mapping|rejections */
export default function DatasetsScreen() {
  return (
    <Routes>
      <Route index element={<DatasetList />} />
      <Route path=":datasetId" element={<DatasetDetail />} />
    </Routes>
  );
}
