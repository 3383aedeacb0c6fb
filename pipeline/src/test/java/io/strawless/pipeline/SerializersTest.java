package io.strawless.pipeline;

import static org.junit.jupiter.api.Assertions.assertFalse;

import io.strawless.pipeline.assembly.AssembledTrajectory;
import io.strawless.pipeline.assembly.AssemblyProgress;
import io.strawless.pipeline.assembly.FinishedTrajectory;
import io.strawless.pipeline.batching.ScoreAndBatch;
import io.strawless.pipeline.grouping.GroupTrajectories;
import io.strawless.pipeline.grouping.TaskBaseline;
import io.strawless.pipeline.grouping.TrajectoryGroup;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.typeutils.GenericTypeInfo;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every type the job sends between operators or keeps in state is serialized by Flink itself (POJO,
 * record or Avro serializers) or by the job's own ({@code NetworkSerializer}, {@code StateSerializer}), never
 * by the Kryo fallback: Kryo is slow and its state does not survive class changes across upgrades. The types
 * the job's own serializers carry stay valid POJOs too: savepoints of the layout before them are read with
 * Flink's POJO serializer and migrated.
 */
class SerializersTest {

    @ParameterizedTest
    @ValueSource(classes = {
        AssembledTrajectory.class,
        AssemblyProgress.class,
        FinishedTrajectory.class,
        TrajectoryGroup.class,
        TaskBaseline.class,
        GroupTrajectories.PendingGroup.class,
        ScoreAndBatch.PendingBatch.class,
    })
    void noKryo(Class<?> type) throws Exception {
        TypeInformation<?> info = TypeInformation.of(type);
        assertFalse(info instanceof GenericTypeInfo, type.getSimpleName() + " would be serialized by Kryo");
        SerializerConfigImpl config = new SerializerConfigImpl();
        config.setGenericTypes(false);
        info.createSerializer(config); // throws if any nested field falls back to Kryo
    }
}
